package clusters

import (
	"context"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/tunnel"
)

// setConnected records the tunnel's current state in the Cluster's
// Connected condition and lastSeen, then starts or stops the cluster's
// controllers. Calls are serialized and read the state themselves, so the
// last one wins with the truth.
func (m *Manager) setConnected(cluster string) {
	m.connectedMu.Lock()
	defer m.connectedMu.Unlock()
	var c v1.Cluster
	connected := m.cache.Get(m.cfg.Context, client.ObjectKey{Name: cluster}, &c) == nil && m.Connected(&c)
	// Not cancelled with the server: its last word at shutdown counts.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(m.cfg.Context), 5*time.Second)
	defer cancel()
	cond := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionFalse, Reason: "AgentDisconnected",
		Message: "no agent tunnel"}
	if connected {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "AgentConnected", "the agent's tunnel is up"
	}
	extra := map[string]any{"lastSeen": metav1.NewTime(m.now()), "connectedAgents": int32(m.tunnel.Sessions(sessionKey(&c)))}
	if err := m.applyClusterCondition(ctx, cluster, ownerTunnel, cond, extra, false); err != nil && !apierrors.IsNotFound(err) {
		m.log.Warn("failed to record the tunnel state", "cluster", cluster, "connected", connected, "err", err)
	}
	m.syncRuntime(m.cfg.Context, cluster)
}

// sessionKey names a cluster's tunnel sessions: its name and UID, so that
// a cluster made again under an old name shares nothing with the old one.
func sessionKey(c *v1.Cluster) string { return c.Name + "/" + string(c.UID) }

// clusterOfKey is the cluster name of a session key.
func clusterOfKey(key string) string {
	name, _, _ := strings.Cut(key, "/")
	return name
}

// Connected reports whether an agent of this cluster (this UID) holds a
// tunnel to this replica.
func (m *Manager) Connected(c *v1.Cluster) bool { return m.tunnel.Connected(sessionKey(c)) }

// newTunnel makes the tunnel server: agents connect with their agent
// token, sessions are keyed by cluster name and UID.
func (m *Manager) newTunnel() error {
	t, err := tunnel.NewServer(tunnel.ServerConfig{
		Authorize: func(r *http.Request) (string, error) {
			c, err := m.reg.agentBearer(r)
			if err != nil {
				return "", err
			}
			return sessionKey(c), nil
		},
		OnChange: func(key string, connected bool) {
			m.targets.Delete(key)
			go m.setConnected(clusterOfKey(key))
		},
		KeepAlive: m.cfg.KeepAlive,
		Logger:    m.log,
	})
	if err != nil {
		return err
	}
	m.tunnel = t
	return nil
}
