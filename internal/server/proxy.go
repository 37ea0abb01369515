package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/impersonation"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/roles"
)

// proxyAuthenticate authenticates a proxied request; a token scoped to
// another cluster is refused.
func (s *Server) proxyAuthenticate(r *http.Request, clusterID string) (authproxy.Identity, string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return authproxy.Identity{}, "", fmt.Errorf("%w: no bearer token", authproxy.ErrUnauthenticated)
	}
	id, err := s.authn.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return authproxy.Identity{}, "", fmt.Errorf("%w: %w", authproxy.ErrUnauthenticated, err)
	}
	if id.ClusterName != "" && id.ClusterName != clusterID {
		return authproxy.Identity{}, id.TokenName, fmt.Errorf("%w: token %s is for cluster %s", authproxy.ErrUnauthenticated, id.TokenName, id.ClusterName)
	}
	// The admins group is Herd's to add, whatever a user's groups say.
	groups := slices.DeleteFunc(slices.Clone(id.Groups), func(g string) bool { return g == importmanifest.AdminsGroup })
	adminVerb := roles.VerbOwn // of every downstream cluster
	if clusterID == LocalClusterName {
		adminVerb = roles.VerbProxyLocal
	}
	if s.allowed(r.Context(), id, adminVerb, "clusters") {
		groups = append(groups, importmanifest.AdminsGroup)
	}
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

// proxyResolve returns the target of a cluster the caller may reach.
func (s *Server) proxyResolve(ctx context.Context, clusterID string, pid authproxy.Identity) (*authproxy.Target, error) {
	id := &authn.Identity{UserName: pid.User, Groups: pid.Groups}
	// proxyAuthenticate has checked the admin verb of this cluster id and
	// added the admins group for it: no second lookup of global roles.
	admin := slices.Contains(pid.Groups, importmanifest.AdminsGroup)
	if clusterID == LocalClusterName {
		if !admin {
			return nil, fmt.Errorf("%w: user %s may not reach the management cluster", authproxy.ErrNotFound, pid.User)
		}
		return s.localTarget()
	}
	var c v1.Cluster
	if err := s.cache.Get(ctx, client.ObjectKey{Name: clusterID}, &c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", authproxy.ErrNotFound, clusterID, err)
	}
	if !admin && !s.allowed(ctx, id, "get", "clusters") && !s.member(ctx, id, clusterID) {
		return nil, fmt.Errorf("%w: user %s has no role in cluster %s", authproxy.ErrNotFound, pid.User, clusterID)
	}
	if !s.tunnel.Connected(clusterID) {
		return nil, fmt.Errorf("%w: cluster %s has no agent connected", authproxy.ErrUnavailable, clusterID)
	}
	d, err := s.downstreamFor(ctx, clusterID)
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

// downstreamFor returns the cached transport and clients of a cluster.
func (s *Server) downstreamFor(ctx context.Context, clusterID string) (*downstream, error) {
	if v, ok := s.targets.Load(clusterID); ok {
		return v.(*downstream), nil
	}
	d, err := s.newDownstream(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	s.targets.Store(clusterID, d)
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
// Secret: dialed through the tunnel, verified against the cluster's CA.
func (s *Server) newDownstream(ctx context.Context, clusterID string) (*downstream, error) {
	var secret corev1.Secret
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: credentialSecretName(clusterID)}, &secret); err != nil {
		return nil, fmt.Errorf("%w: cluster %s has not registered: %v", authproxy.ErrUnavailable, clusterID, err)
	}
	endpoint, err := url.Parse(string(secret.Data[credEndpoint]))
	if err != nil {
		return nil, fmt.Errorf("%w: cluster %s endpoint: %v", authproxy.ErrUnavailable, clusterID, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(secret.Data[credCA])
	transport := func(h2 bool) *http.Transport {
		return &http.Transport{
			DialContext:         s.tunnel.Dialer(clusterID),
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: endpoint.Hostname(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   h2,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	// HTTP/2 multiplexes requests over few tunnel streams; upgrades
	// (exec, attach, port-forward over SPDY or WebSocket) need HTTP/1.1.
	h2 := transport(true)
	agentCred := string(secret.Data[credToken])
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: endpoint.String(), Transport: h2, BearerToken: agentCred, QPS: 50, Burst: 100})
	if err != nil {
		return nil, err
	}
	return &downstream{
		target: authproxy.Target{URL: endpoint, Transport: h2, UpgradeTransport: transport(false),
			ReviewCredential: agentCred},
		accounts: &impersonation.Accounts{Client: kube, Now: s.now},
	}, nil
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
		u, err := url.Parse(s.rest.Host)
		s.localTgt, s.localTgtErr = &authproxy.Target{URL: u, Transport: transport}, err
	})
	return s.localTgt, s.localTgtErr
}
