package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/terminal"
)

// terminalTTL bounds a terminal's token; the terminal revokes it when it
// closes.
const terminalTTL = 8 * time.Hour

// handleTerminal opens a kubectl terminal on a cluster the caller may
// reach: kubectl runs as the caller, through this server's proxy, with a
// token scoped to the cluster that lives as long as the terminal.
func (a clustersAPI) handleTerminal(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	name := r.PathValue("name")
	if a.cfg.Terminal == nil || a.cfg.SelfURL == "" {
		a.fail(w, r, http.StatusNotImplemented, metav1.StatusReasonBadRequest, "this server has no kubectl terminal", nil)
		return
	}
	if err := a.cfg.Terminal.Available(); err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the kubectl terminal is not available on this server; see its log", err)
		return
	}
	c, ok := a.authz.LiveCluster(r.Context(), id, name)
	if !ok {
		a.notFound(w, r, "cluster "+name)
		return
	}
	if r.Header.Get("Upgrade") == "" {
		a.invalid(w, r, "the terminal is a WebSocket: open it from the web console")
		return
	}
	var clusterUID string
	if c != nil {
		clusterUID = string(c.UID)
	}
	var u v1.User
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &u); err != nil {
		a.internal(w, r, err)
		return
	}
	token, tok, err := a.dir.MintToken(r.Context(), &u, authn.TokenRequest{Kind: v1.TokenKindKubeconfig, ClusterName: name,
		ClusterUID: clusterUID, TTL: terminalTTL, Description: "web console terminal for cluster " + name}, false)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("terminal opened", "actor", id.UserName, "cluster", name, "token", tok.Name, "source", sourceAddr(r))
	defer func() {
		// The request's context ends with the terminal: revoke without it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		defer cancel()
		if _, err := a.dir.RevokeToken(ctx, id, tok.Name, false); err != nil {
			a.log.Warn("terminal token not revoked; it expires by itself", "token", tok.Name, "err", err)
		}
		a.audit.Info("terminal closed", "actor", id.UserName, "cluster", name, "token", tok.Name)
	}()
	target := terminal.Target{Server: a.cfg.SelfURL + "/k8s/clusters/" + url.PathEscape(name), CA: a.cfg.CABundle,
		TLSServerName: a.cfg.SelfServerName, Token: token, User: id.UserName}
	a.cfg.Terminal.Serve(w, r, target)
}
