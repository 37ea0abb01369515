package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/impersonation"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/wellknown"
)

// proxyAuthenticate authenticates a proxied request; a token scoped to
// another cluster is refused.
func (s *Server) proxyAuthenticate(r *http.Request, clusterID string) (authproxy.Identity, string, error) {
	token, ok := authproxy.BearerToken(r)
	if !ok {
		return authproxy.Identity{}, "", fmt.Errorf("%w: no bearer token", authproxy.ErrUnauthenticated)
	}
	id, err := s.authn.Authenticate(r.Context(), token)
	if err != nil {
		return authproxy.Identity{}, "", fmt.Errorf("%w: %w", authproxy.ErrUnauthenticated, err)
	}
	if id.ClusterName != "" && (id.ClusterName != clusterID || !s.scopeCurrent(r.Context(), id)) {
		return authproxy.Identity{}, id.TokenName, fmt.Errorf("%w: token %s is for cluster %s (uid %s)", authproxy.ErrUnauthenticated, id.TokenName, id.ClusterName, id.ClusterUID)
	}
	// The admins group is Herd's to add, whatever a user's groups say.
	groups := importmanifest.DownstreamGroups(id.Groups, s.authz.IsClusterAdmin(r.Context(), id, clusterID))
	return authproxy.Identity{
		User:   id.UserName,
		Groups: groups,
		Extra: map[string][]string{
			"principalid":    id.Principals,
			"username":       {id.Username},
			"requesttokenid": {id.TokenName},
		},
	}, id.TokenName, nil
}

// scopeCurrent reports whether a cluster-scoped token's cluster is still
// the one it was issued for: same UID, not being deleted.
func (s *Server) scopeCurrent(ctx context.Context, id *authn.Identity) bool {
	if id.ClusterName == wellknown.LocalCluster {
		return id.ClusterUID == ""
	}
	var c v1.Cluster
	return s.cache.Get(ctx, client.ObjectKey{Name: id.ClusterName}, &c) == nil && c.DeletionTimestamp.IsZero() &&
		id.ClusterUID != "" && string(c.UID) == id.ClusterUID
}

// proxyResolve returns the target of a cluster the caller may reach.
func (s *Server) proxyResolve(ctx context.Context, clusterID string, pid authproxy.Identity) (*authproxy.Target, error) {
	id := &authn.Identity{UserName: pid.User, Groups: pid.Groups}
	// proxyAuthenticate has checked the admin verb of this cluster id and
	// added the admins group for it: no second lookup of global roles.
	admin := slices.Contains(pid.Groups, wellknown.AdminsGroup)
	if clusterID == wellknown.LocalCluster {
		if !admin {
			return nil, fmt.Errorf("%w: user %s may not reach the management cluster", authproxy.ErrNotFound, pid.User)
		}
		return s.localTarget()
	}
	var c v1.Cluster
	if err := s.cache.Get(ctx, client.ObjectKey{Name: clusterID}, &c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", authproxy.ErrNotFound, clusterID, err)
	}
	if !c.DeletionTimestamp.IsZero() {
		return nil, fmt.Errorf("%w: %s is being deleted", authproxy.ErrNotFound, clusterID)
	}
	if !admin && !s.authz.Allowed(ctx, id, "get", "clusters") && !s.authz.Member(ctx, id, clusterID) {
		return nil, fmt.Errorf("%w: user %s has no role in cluster %s", authproxy.ErrNotFound, pid.User, clusterID)
	}
	if !s.connected(&c) {
		return nil, fmt.Errorf("%w: cluster %s has no agent connected", authproxy.ErrUnavailable, clusterID)
	}
	d, err := s.downstreamFor(ctx, &c)
	if err != nil {
		return nil, err
	}
	token, err := d.accounts.Token(ctx, subjectOf(pid))
	if err != nil {
		return nil, fmt.Errorf("%w: no impersonation account for %s in %s: %v", authproxy.ErrUnavailable, pid.User, clusterID, err)
	}
	t := d.target
	t.Credential = token
	return &t, nil
}

// downstreamFor returns the cached transport and clients of a cluster,
// kept by session key (name and UID).
func (s *Server) downstreamFor(ctx context.Context, c *v1.Cluster) (*downstream, error) {
	key := sessionKey(c)
	if v, ok := s.targets.Load(key); ok {
		return v.(*downstream), nil
	}
	d, err := s.newDownstream(ctx, c)
	if err != nil {
		return nil, err
	}
	s.targets.Store(key, d)
	return d, nil
}

// downstream is what the proxy keeps per cluster: the target with the
// agent's credential (for reviews) and the users' impersonation accounts.
type downstream struct {
	target   authproxy.Target
	accounts *impersonation.Accounts
}

func subjectOf(id authproxy.Identity) impersonation.Subject {
	s := impersonation.Subject{User: id.User, Groups: id.Groups, Principals: id.Extra["principalid"]}
	if u := id.Extra["username"]; len(u) > 0 {
		s.Username = u[0]
	}
	return s
}

// newDownstream builds the transport to a cluster from its credential
// Secret: dialed through the tunnel, verified against the cluster's CA. A
// pending change of the registration is verified first.
func (s *Server) newDownstream(ctx context.Context, c *v1.Cluster) (*downstream, error) {
	var secret corev1.Secret
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: credentialSecretName(c.Name)}, &secret); err != nil {
		return nil, fmt.Errorf("%w: cluster %s has not registered: %v", authproxy.ErrUnavailable, c.Name, err)
	}
	if string(secret.Data[credClusterUID]) != string(c.UID) {
		return nil, fmt.Errorf("%w: cluster %s: the stored registration is of an earlier cluster of that name", authproxy.ErrUnavailable, c.Name)
	}
	if _, ok := secret.Data[credPendingToken]; ok {
		if err := s.verifyPending(ctx, c, &secret); err != nil {
			return nil, err
		}
	}
	conn, err := s.connection(c, string(secret.Data[credEndpoint]), secret.Data[credCA], string(secret.Data[credToken]))
	if err != nil {
		return nil, err
	}
	accounts := &impersonation.Accounts{Client: conn.kube, Now: s.now}
	as := &asUser{kube: conn.kube, accounts: accounts}
	return &downstream{
		target:   authproxy.Target{URL: conn.endpoint, Transport: conn.h2, UpgradeTransport: conn.h1, Impersonate: as.impersonate},
		accounts: accounts,
	}, nil
}

// connection is how Herd reaches a cluster's kube-apiserver with one
// credential.
type connection struct {
	endpoint *url.URL
	h2, h1   *http.Transport
	kube     kubernetes.Interface
}

// connection dials endpoint through the cluster's tunnel, trusting only ca.
func (s *Server) connection(c *v1.Cluster, endpoint string, ca []byte, token string) (*connection, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster %s endpoint: %v", authproxy.ErrUnavailable, c.Name, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	transport := func(h2 bool) *http.Transport {
		return &http.Transport{
			DialContext:         s.tunnel.Dialer(sessionKey(c)),
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   h2,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	// HTTP/2 multiplexes requests over few tunnel streams; upgrades
	// (exec, attach, port-forward over SPDY or WebSocket) need HTTP/1.1.
	conn := &connection{endpoint: u, h2: transport(true), h1: transport(false)}
	conn.kube, err = kubernetes.NewForConfig(&rest.Config{Host: u.String(), Transport: conn.h2, BearerToken: token, QPS: 50, Burst: 100})
	return conn, err
}

// verifyPending checks a changed registration before Herd uses it: the
// new credential must authenticate, through the tunnel, at the new
// endpoint presenting a certificate of the cluster's pinned CA, which
// proves it is of the same cluster. Then it replaces the old one (logged);
// otherwise it is dropped (logged) and the old one stays.
func (s *Server) verifyPending(ctx context.Context, c *v1.Cluster, secret *corev1.Secret) error {
	d := secret.Data
	endpoint, token := string(d[credPendingEndpoint]), string(d[credPendingToken])
	data := map[string][]byte{credEndpoint: d[credEndpoint], credCA: d[credCA], credToken: d[credToken], credClusterUID: d[credClusterUID]}
	conn, err := s.connection(c, endpoint, d[credCA], token)
	var who string
	if err == nil {
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var review *authnv1.SelfSubjectReview
		review, err = conn.kube.AuthenticationV1().SelfSubjectReviews().Create(vctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		cancel()
		conn.h2.CloseIdleConnections()
		if err == nil {
			who = review.Status.UserInfo.Username
		}
	}
	if err != nil {
		s.cfg.Logger.Warn("cluster registration change refused: the new credential does not authenticate at the new endpoint with the cluster's CA",
			"cluster", c.Name, "endpoint", string(d[credEndpoint]), "newEndpoint", endpoint, "err", err)
	} else {
		data[credEndpoint], data[credToken] = []byte(endpoint), []byte(token)
		s.audit.Info("cluster registration changed", "cluster", c.Name, "endpoint", string(d[credEndpoint]), "newEndpoint", endpoint,
			"credentialOf", who)
	}
	if werr := s.writeCredential(ctx, c, data); werr != nil {
		return werr
	}
	secret.Data = data
	if err == nil {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"apiEndpoint": endpoint}})
		if perr := s.client.Status().Patch(ctx, c.DeepCopy(), client.RawPatch(types.MergePatchType, patch)); perr != nil {
			s.cfg.Logger.Warn("failed to record the new endpoint", "cluster", c.Name, "err", perr)
		}
	}
	return nil
}

// localTarget reaches the management cluster with the server's own
// credential (the transport carries it; no bearer is added).
func (s *Server) localTarget() (*authproxy.Target, error) {
	s.localOnce.Do(func() {
		transport, err := rest.TransportFor(s.rest)
		if err != nil {
			s.localTgtErr = err
			return
		}
		// `kubectl --as` is forwarded with an account's token, over a
		// transport that carries no credential of the server's own.
		anonymous, err := rest.TransportFor(rest.AnonymousClientConfig(s.rest))
		if err != nil {
			s.localTgtErr = err
			return
		}
		as := &asUser{kube: s.kube, accounts: &impersonation.Accounts{Client: s.kube, Now: s.now}}
		u, err := url.Parse(s.rest.Host)
		s.localTgt, s.localTgtErr = &authproxy.Target{URL: u, Transport: transport, Impersonate: as.impersonate,
			ImpersonationTransport: anonymous}, err
	})
	return s.localTgt, s.localTgtErr
}
