package clusters

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/tunnel"
)

// setConnected records the tunnels' current state in the Cluster's
// Connected condition, connectedAgents (the agent tunnels of this replica
// and, by their announcements, of its peers) and lastSeen, then has the
// cluster's controllers started or stopped. Calls are serialized and read the
// state themselves, so the last one wins with the truth; a replica whose
// view was behind a peer's announcement is corrected by the liveness
// check (reassertConnected).
func (m *Manager) setConnected(cluster string) {
	mu := &m.connectedMu[stripe(cluster, len(m.connectedMu))]
	mu.Lock()
	defer mu.Unlock()
	var c v1.Cluster
	if m.cache.Get(m.cfg.Context, client.ObjectKey{Name: cluster}, &c) != nil {
		c = v1.Cluster{} // gone: nothing to write, the apply fails as NotFound
	}
	// Not cancelled with the server: its last word at shutdown counts.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(m.cfg.Context), 5*time.Second)
	defer cancel()
	cond, agents := m.connectionState(&c)
	extra := map[string]any{"lastSeen": metav1.NewTime(m.now()), "connectedAgents": int32(agents)}
	if err := m.applyClusterCondition(ctx, cluster, ownerTunnel, cond, extra, false); err != nil && !apierrors.IsNotFound(err) {
		m.log.Warn("failed to record the tunnel state", "cluster", cluster, "connected", cond.Status, "err", err)
	}
	if m.cfg.Replicas != nil {
		// RunOwnership starts or stops the controllers: the next write
		// need not wait for that (a start reads the management cluster).
		m.queue.Add(cluster)
		return
	}
	m.syncRuntime(m.cfg.Context, cluster)
}

// connectionState is the cluster's Connected condition and agent tunnel
// count as this replica sees them: its own tunnels and its peers'.
func (m *Manager) connectionState(c *v1.Cluster) (metav1.Condition, int) {
	cond := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionFalse, Reason: "AgentDisconnected",
		Message: "no agent tunnel"}
	if c.UID == "" {
		return cond, 0
	}
	key := sessionKey(c)
	agents := m.tunnel.Sessions(key) + m.peerAgents(key)
	switch {
	case agents > 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "AgentConnected", "the agent's tunnel is up"
	case m.nodeTunnel.Connected(key) || m.peerNodeTunnel(key):
		cond.Reason, cond.Message = "NodeAgentOnly",
			"no cluster agent is connected; Herd reaches the cluster through a node agent's fallback tunnel"
	}
	return cond, agents
}

// stripe maps a name to one of n locks.
func stripe(name string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
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

// AgentSessions is the number of the cluster's agent tunnels this
// replica holds.
func (m *Manager) AgentSessions(c *v1.Cluster) int { return m.tunnel.Sessions(sessionKey(c)) }

// ReplicaID names this replica as Cluster owners name it; "" when Herd
// runs as one replica without owners.
func (m *Manager) ReplicaID() string {
	if m.cfg.Replicas == nil {
		return ""
	}
	return m.cfg.Replicas.ID()
}

// Reachable reports whether the cluster can be reached from this replica:
// through its agent's tunnel, or else through the node tunnel of one of
// its control-plane machines, here or at a peer.
func (m *Manager) Reachable(c *v1.Cluster) bool {
	return m.Connected(c) || m.nodeTunnel.Connected(sessionKey(c)) || m.peerHolds(sessionKey(c))
}

// dialer dials through the cluster agent's tunnel of key, and when no
// cluster agent is connected, through a node tunnel (the fallback, whose
// node agent dials only its own machine's kube-apiserver); when this
// replica holds neither, through a peer that does.
func (m *Manager) dialer(key string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := m.tunnel.DialContext(ctx, key, network, addr)
		if errors.Is(err, tunnel.ErrNotConnected) && m.nodeTunnel.Connected(key) {
			return m.nodeTunnel.DialContext(ctx, key, network, addr)
		}
		if errors.Is(err, tunnel.ErrNotConnected) {
			return m.dialPeers(ctx, key, network, addr)
		}
		return conn, err
	}
}

// NodeTunnel is the server end of the node agents' fallback tunnels (GET
// /v1/node/connect), held by control-plane machines.
func (m *Manager) NodeTunnel() *tunnel.Server { return m.nodeTunnel }

// newNodeTunnel makes the fallback tunnel server: node agents connect with
// their machine credential; only control-plane machines qualify.
func (m *Manager) newNodeTunnel() error {
	t, err := tunnel.NewServer(tunnel.ServerConfig{
		Authorize: func(r *http.Request) (string, error) {
			bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			// The node agents of an imported cluster (its DaemonSet).
			if c, err := m.reg.VerifyNodeToken(r.Context(), bearer); err == nil {
				return sessionKey(c), nil
			}
			machine, err := machines.Authenticate(r.Context(), m.cache, bearer)
			if err != nil {
				return "", err
			}
			if !slices.Contains(machine.Spec.Roles, v1.RoleControlPlane) {
				return "", fmt.Errorf("machine %s is not a control-plane machine", machine.Name)
			}
			var c v1.Cluster
			if err := m.cache.Get(r.Context(), client.ObjectKey{Name: machine.Spec.ClusterName}, &c); err != nil {
				return "", err
			}
			if !ownedBy(machine, &c) {
				return "", fmt.Errorf("machine %s is of an earlier cluster named %s", machine.Name, c.Name)
			}
			return sessionKey(&c), nil
		},
		OnChange: func(key string, connected bool) {
			m.log.Info("node tunnel", "cluster", clusterOfKey(key), "connected", connected)
			m.announce(nodeKeyPrefix + key)
			m.connectionChanged(clusterOfKey(key))
			m.reachChanged(clusterOfKey(key))
		},
		KeepAlive: m.cfg.KeepAlive,
		Logger:    m.log.With("tunnel", "node"),
	})
	if err != nil {
		return err
	}
	m.nodeTunnel = t
	return nil
}

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
			m.announce(agentKeyPrefix + key)
			m.reachChanged(clusterOfKey(key))
		},
		// Every change, a second agent's too: connectedAgents shows it.
		OnCount:   func(key string, _ int) { m.connectionChanged(clusterOfKey(key)) },
		KeepAlive: m.cfg.KeepAlive,
		Logger:    m.log,
	})
	if err != nil {
		return err
	}
	m.tunnel = t
	return nil
}
