package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/recording"
	"herd.dev/herd/internal/wellknown"
)

// proxyAuthenticate authenticates a proxied request; a token scoped to
// another cluster is refused. The caller's administration of the cluster
// is decided here, once per request.
func (s *Server) proxyAuthenticate(r *http.Request, clusterID string) (authproxy.Caller, error) {
	token, ok := authproxy.BearerToken(r)
	if !ok {
		return authproxy.Caller{}, fmt.Errorf("%w: no bearer token", authproxy.ErrUnauthenticated)
	}
	id, err := s.authn.Authenticate(r.Context(), token)
	if err != nil {
		return authproxy.Caller{}, fmt.Errorf("%w: %w", authproxy.ErrUnauthenticated, err)
	}
	if id.ClusterName != "" && (id.ClusterName != clusterID || !s.scopeCurrent(r.Context(), id)) {
		return authproxy.Caller{TokenID: id.TokenName}, fmt.Errorf("%w: token %s is for cluster %s (uid %s)", authproxy.ErrUnauthenticated, id.TokenName, id.ClusterName, id.ClusterUID)
	}
	return authproxy.Caller{UserID: id.UserName, Username: id.Username, Principals: id.Principals, Groups: id.Groups,
		TokenID: id.TokenName, Admin: s.authz.IsClusterAdmin(r.Context(), id, clusterID)}, nil
}

// scopeCurrent reports whether a cluster-scoped token's cluster is still
// the one it was issued for: same UID, not being deleted.
func (s *Server) scopeCurrent(ctx context.Context, id *authn.Identity) bool {
	if id.ClusterName == wellknown.LocalCluster {
		return id.ClusterUID == ""
	}
	var c v1.Cluster
	return s.cache.Get(ctx, client.ObjectKey{Name: id.ClusterName}, &c, client.UnsafeDisableDeepCopy) == nil && c.DeletionTimestamp.IsZero() &&
		id.ClusterUID != "" && string(c.UID) == id.ClusterUID
}

// proxyResolve returns the target of a cluster the caller may reach.
func (s *Server) proxyResolve(ctx context.Context, clusterID string, caller authproxy.Caller) (*authproxy.Target, error) {
	id := &authn.Identity{UserName: caller.UserID, Groups: caller.Groups}
	if clusterID == wellknown.LocalCluster {
		if !caller.Admin {
			return nil, fmt.Errorf("%w: user %s may not reach the management cluster", authproxy.ErrNotFound, caller.UserID)
		}
		return s.localTarget()
	}
	// Read on every request, without the cache's deep copy: c is only
	// read (DownstreamFor copies it before building a new downstream).
	var c v1.Cluster
	if err := s.cache.Get(ctx, client.ObjectKey{Name: clusterID}, &c, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", authproxy.ErrNotFound, clusterID, err)
	}
	if !c.DeletionTimestamp.IsZero() {
		return nil, fmt.Errorf("%w: %s is being deleted", authproxy.ErrNotFound, clusterID)
	}
	if !caller.Admin && !s.authz.Allowed(ctx, id, "get", "clusters") && !s.authz.Member(ctx, id, clusterID) {
		return nil, fmt.Errorf("%w: user %s has no role in cluster %s", authproxy.ErrNotFound, caller.UserID, clusterID)
	}
	return s.clusters.Target(ctx, &c, caller)
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
		u, err := url.Parse(s.rest.Host)
		s.localTgt, s.localTgtErr = &authproxy.Target{URL: u, Transport: transport, Impersonate: clusters.Impersonator(s.kube, s.now),
			ImpersonationTransport: anonymous}, err
	})
	return s.localTgt, s.localTgtErr
}

// newProxy makes the authenticating proxy.
func (s *Server) newProxy() {
	s.proxyMetrics = newProxyMetrics(s.clusterExists)
	var sessions authproxy.SessionRecorder
	if s.recordingPolicy != recording.Off {
		sessions = s.recorder.ForProxy(s.recordingPolicy)
	}
	s.proxy = authproxy.New(authproxy.Config{
		Sessions:     sessions,
		Authenticate: s.proxyAuthenticate,
		Resolve:      s.proxyResolve,
		Logger:       s.cfg.Logger,
		Audit:        s.audit,
		Observer:     s.proxyMetrics,
		AuditLevel:   s.auditLevel,
	})
}
