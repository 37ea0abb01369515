package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/tunnel"
)

// newTunnel makes the tunnel server (agents connect with their
// registration token) and the proxy that uses it.
func (s *Server) newTunnel() error {
	t, err := tunnel.NewServer(tunnel.ServerConfig{
		Authorize: func(r *http.Request) (string, error) {
			c, err := s.agentBearer(r)
			if err != nil {
				return "", err
			}
			return sessionKey(c), nil
		},
		OnChange: func(key string, connected bool) {
			s.targets.Delete(key)
			go s.setConnected(clusterOfKey(key))
		},
		Logger: s.cfg.Logger,
	})
	if err != nil {
		return err
	}
	s.tunnel = t
	s.proxy = authproxy.New(authproxy.Config{
		Authenticate: s.proxyAuthenticate,
		Resolve:      s.proxyResolve,
		Logger:       s.cfg.Logger,
		Audit:        s.audit,
	})
	return nil
}

// setConnected records the tunnel's current state in the Cluster's
// Connected condition and lastSeen, then starts or stops the cluster's
// controllers. Calls are serialized and read the state themselves, so the
// last one wins with the truth.
func (s *Server) setConnected(cluster string) {
	s.connectedMu.Lock()
	defer s.connectedMu.Unlock()
	var c v1.Cluster
	connected := s.cache.Get(s.baseCtx, client.ObjectKey{Name: cluster}, &c) == nil && s.connected(&c)
	// Not cancelled with the server: its last word at shutdown counts.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.baseCtx), 5*time.Second)
	defer cancel()
	cond := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionFalse, Reason: "AgentDisconnected",
		Message: "no agent tunnel"}
	if connected {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "AgentConnected", "the agent's tunnel is up"
	}
	extra := map[string]any{"lastSeen": metav1.NewTime(s.now())}
	if err := s.applyClusterCondition(ctx, cluster, ownerTunnel, cond, extra, false); err != nil && !apierrors.IsNotFound(err) {
		s.cfg.Logger.Warn("failed to record the tunnel state", "cluster", cluster, "connected", connected, "err", err)
	}
	s.syncRuntime(s.baseCtx, cluster)
}

// sessionKey names a cluster's tunnel sessions: its name and UID, so that
// a cluster made again under an old name shares nothing with the old one.
func sessionKey(c *v1.Cluster) string { return c.Name + "/" + string(c.UID) }

// clusterOfKey is the cluster name of a session key.
func clusterOfKey(key string) string {
	name, _, _ := strings.Cut(key, "/")
	return name
}

// connected reports whether an agent of this cluster (this UID) holds a
// tunnel to this replica.
func (s *Server) connected(c *v1.Cluster) bool { return s.tunnel.Connected(sessionKey(c)) }
