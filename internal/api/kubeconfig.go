package api

import (
	"net/http"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/wellknown"
)

// handleKubeconfig returns a kubeconfig whose context reaches the cluster
// through Herd's proxy: with a new kubeconfig token scoped to the cluster,
// or with ?exec=true a `herdctl token` exec credential plugin.
func (a clustersAPI) handleKubeconfig(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	name := r.PathValue("name")
	c, ok := a.authz.LiveCluster(r.Context(), id, name)
	if !ok {
		a.notFound(w, r, "cluster "+name)
		return
	}
	var clusterUID string
	if c != nil {
		clusterUID = string(c.UID)
	}
	if r.URL.Query().Get("direct") == "true" && a.directCluster(r, name) == nil {
		a.invalid(w, r, directMissing(c, name))
		return
	}
	user := &clientcmdapi.AuthInfo{}
	tokenName := ""
	switch r.URL.Query().Get("exec") {
	case "true":
		user.Exec = &clientcmdapi.ExecConfig{
			// A cluster-scoped token: it works on the direct context too.
			APIVersion: "client.authentication.k8s.io/v1", Command: "herdctl", Args: []string{"token", "--cluster", name},
			InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
			InstallHint:     "herdctl is Herd's CLI; log in first with `herdctl login SERVER`",
		}
	case "", "false":
		var u v1.User
		if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &u); err != nil {
			a.internal(w, r, err)
			return
		}
		token, tok, err := a.dir.MintToken(r.Context(), &u, authn.TokenRequest{Kind: v1.TokenKindKubeconfig, ClusterName: name,
			ClusterUID: clusterUID, Description: "kubeconfig for cluster " + name}, false)
		if err != nil {
			a.respond(w, r, err)
			return
		}
		user.Token = token
		tokenName = tok.Name
	default:
		a.invalid(w, r, "exec must be true or false")
		return
	}
	a.writeKubeconfig(w, r, name, user)
	a.audit.Info("kubeconfig issued", "actor", id.UserName, "cluster", name, "token", tokenName, "exec", user.Exec != nil, "source", sourceAddr(r))
}

func (a clustersAPI) writeKubeconfig(w http.ResponseWriter, r *http.Request, cluster string, user *clientcmdapi.AuthInfo) {
	cfg := clientcmdapi.NewConfig()
	c := clientcmdapi.NewCluster()
	c.Server = a.serverURL(r.Host) + "/k8s/clusters/" + cluster
	if a.cfg.EmbedCA {
		c.CertificateAuthorityData = a.cfg.CABundle
	}
	cfg.Clusters[cluster] = c
	cfg.AuthInfos[cluster] = user
	cfg.Contexts[cluster] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: cluster}
	cfg.CurrentContext = cluster
	if direct := a.directCluster(r, cluster); direct != nil {
		name := cluster + "-direct"
		cfg.Clusters[name] = direct
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: cluster}
		if r.URL.Query().Get("direct") == "true" {
			cfg.CurrentContext = name
		}
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// directMissing says why cluster c (nil: the management cluster) has no
// direct context, and how to get one.
func directMissing(c *v1.Cluster, name string) string {
	switch {
	case c == nil || name == wellknown.LocalCluster:
		return "the management cluster has no direct context: use the context through Herd"
	case c.Spec.AuthorizedEndpoint == nil || !c.Spec.AuthorizedEndpoint.Enabled:
		return "cluster " + name + " has no authorized endpoint, so no direct context: its administrators turn it on with `herdctl clusters endpoint " + name + " --enable`"
	}
	return "the authorized endpoint of cluster " + name + " is on, but its agent has not reported the kube-apiserver's address yet: wait for the agent, or give the endpoint an FQDN (`herdctl clusters endpoint " + name + " --enable --fqdn HOST:PORT`)"
}

// directCluster is the kubeconfig cluster of a cluster's authorized
// endpoint, or nil when it has none.
func (a clustersAPI) directCluster(r *http.Request, name string) *clientcmdapi.Cluster {
	var c v1.Cluster
	if name == wellknown.LocalCluster || a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &c) != nil {
		return nil
	}
	ep := c.Spec.AuthorizedEndpoint
	if ep == nil || !ep.Enabled {
		return nil
	}
	out := clientcmdapi.NewCluster()
	out.Server, out.CertificateAuthorityData = c.Status.APIEndpoint, []byte(c.Status.CACert)
	if ep.FQDN != "" {
		out.Server = "https://" + ep.FQDN
		if ep.CACerts != "" {
			out.CertificateAuthorityData = []byte(ep.CACerts)
		}
	}
	if out.Server == "" {
		return nil // the agent has not reported the apiserver's address yet
	}
	return out
}
