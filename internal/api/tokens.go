package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// handleListTokens lists the caller's tokens, or with ?all=true everyone's.
func (a tokensAPI) handleListTokens(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var opts []client.ListOption
	switch all := r.URL.Query().Get("all"); all {
	case "true":
		if !a.authz.Allowed(r.Context(), id, "list", "tokens") {
			a.forbidden(w, r, id, "list other users' tokens")
			return
		}
	case "", "false":
		opts = append(opts, client.MatchingLabels{authn.UserLabel: id.UserName})
	default:
		a.invalid(w, r, "all must be true or false")
		return
	}
	var list v1.TokenList
	if err := a.cache.List(r.Context(), &list, opts...); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.TokenList{Items: []herdapi.TokenInfo{}}
	for i := range list.Items {
		t := &list.Items[i]
		out.Items = append(out.Items, tokenInfo(t, a.usernameOf(r, t.Spec.UserName), id.TokenName, a.now()))
	}
	slices.SortFunc(out.Items, func(a, b herdapi.TokenInfo) int { return a.CreatedAt.Compare(b.CreatedAt) })
	writeJSON(w, http.StatusOK, out)
}

func (a tokensAPI) usernameOf(r *http.Request, userName string) string {
	var u v1.User
	if a.cache.Get(r.Context(), client.ObjectKey{Name: userName}, &u) != nil {
		return ""
	}
	return u.Spec.Username
}

// handleCreateToken issues another token for the caller. A token scoped
// to a cluster needs access to that cluster.
func (a tokensAPI) handleCreateToken(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.TokenCreateRequest
	if !a.decode(w, r, &req) {
		return
	}
	if req.Kind == v1.TokenKindBrowser {
		a.invalid(w, r, "kind browser is a web console session, made by logging in to the console; use session or kubeconfig")
		return
	}
	var clusterUID string
	if req.ClusterName != "" {
		if errs := validation.NameIsDNSLabel(req.ClusterName, false); len(errs) > 0 {
			a.invalid(w, r, "clusterName "+strings.Join(errs, "; "))
			return
		}
		c, ok := a.authz.LiveCluster(r.Context(), id, req.ClusterName)
		if !ok {
			a.notFound(w, r, "cluster "+req.ClusterName)
			return
		}
		if c != nil {
			clusterUID = string(c.UID)
		}
	}
	var user v1.User
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &user); err != nil {
		a.internal(w, r, err)
		return
	}
	a.issueToken(w, r, &user, authn.TokenRequest{Kind: req.Kind, TTL: time.Duration(req.TTLSeconds) * time.Second,
		Description: req.Description, ClusterName: req.ClusterName, ClusterUID: clusterUID}, false)
}

// handleRevokeToken disables a token: the caller's own, or any for those
// who may update tokens. Others' tokens answer 404, as if absent.
func (a tokensAPI) handleRevokeToken(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	tok, err := a.dir.RevokeToken(r.Context(), id, r.PathValue("name"), a.authz.Allowed(r.Context(), id, "update", "tokens"))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("token revoked", "actor", id.UserName, "token", tok.Name, "user", tok.Spec.UserName, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

// issueToken creates a token for user and answers 201 with it. A login
// (evictSessions) ends the user's oldest sessions past the token quota;
// anything else past it answers 403.
func (a *API) issueToken(w http.ResponseWriter, r *http.Request, user *v1.User, req authn.TokenRequest, evictSessions bool) {
	if req.TTL < 0 || req.TTL > 10*365*24*time.Hour {
		a.invalid(w, r, "ttlSeconds must be between 0 (the default) and ten years")
		return
	}
	token, tok, err := a.dir.MintToken(r.Context(), user, req, evictSessions)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("token issued", "actor", actorOf(r), "user", user.Name, "token", tok.Name, "kind", tok.Spec.Kind,
		"cluster", tok.Spec.ClusterName, "expiresAt", tok.Spec.ExpiresAt.Time, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, herdapi.TokenResponse{Token: token, Info: tokenInfo(tok, user.Spec.Username, "", a.now())})
}

func tokenInfo(t *v1.Token, username, current string, now time.Time) herdapi.TokenInfo {
	info := herdapi.TokenInfo{
		Name:        t.Name,
		UserName:    t.Spec.UserName,
		Username:    username,
		Kind:        t.Spec.Kind,
		ClusterName: t.Spec.ClusterName,
		Description: t.Spec.Description,
		Enabled:     t.Spec.Enabled,
		Expired:     !now.Before(t.Spec.ExpiresAt.Time),
		ExpiresAt:   t.Spec.ExpiresAt.Time,
		CreatedAt:   t.CreationTimestamp.Time,
		Current:     t.Name == current && current != "",
	}
	if t.Status.LastUsedAt != nil {
		at := t.Status.LastUsedAt.Time
		info.LastUsedAt = &at
	}
	return info
}
