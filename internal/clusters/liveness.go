package clusters

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// Liveness bounds. A replica that holds a cluster's tunnel refreshes its
// lastSeen every lastSeenRefresh (a display of when the agent was last
// heard from; liveness does not depend on it), the cluster controllers'
// status heartbeat is statusHeartbeat, and the leader marks a cluster not
// Connected when it says Connected and no replica (this one, or a peer by
// its announcements) has held its tunnel for agentLostAfter: a replica
// that died cannot say so itself.
const (
	lastSeenRefresh = 5 * time.Minute
	statusHeartbeat = 10 * time.Second
	agentLostAfter  = 30 * time.Second
	livenessEvery   = 5 * time.Second
)

// CheckLiveness runs on every replica until ctx ends: each replica
// re-asserts Connected and the count of agent tunnels for the tunnels it
// holds (another replica that lost the agent may have written False after
// the agent moved here, or counted before a peer's announcement came), and
// the leader marks agents that no replica holds as lost.
func (m *Manager) CheckLiveness(ctx context.Context) error {
	t := time.NewTicker(livenessEvery)
	defer t.Stop()
	unheld := map[string]time.Time{} // cluster -> since when the leader saw no replica hold it
	var blind []string               // replicas the leader could not see last time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.reassertConnected(ctx)
			unlinked := m.unlinked()
			switch {
			case !m.cfg.IsLeader():
				clear(unheld)
			case len(unlinked) > 0:
				// What those replicas hold is out of sight: an agent there
				// is not lost. They write its state themselves.
				if !slices.Equal(unlinked, blind) {
					m.log.Warn("no peer link to some ready replicas: agents are not marked lost meanwhile", "unlinked", unlinked)
				}
				clear(unheld)
			default:
				m.markLostAgents(ctx, unheld)
			}
			blind = unlinked
		}
	}
}

// unlinked lists the ready replicas this one has no peer link to.
func (m *Manager) unlinked() []string {
	if m.peers == nil {
		return nil
	}
	return m.peers.Unlinked()
}

// reassertConnected keeps, for each tunnel held here, Connected=True and
// lastSeen fresh (the tunnel is what lastSeen means: the agent was heard
// from), and the cluster's controllers running (a start that failed is
// retried here).
func (m *Manager) reassertConnected(ctx context.Context) {
	var list v1.ClusterList
	if err := m.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		return
	}
	now := m.now()
	for _, c := range list.Items {
		if !m.Connected(&c) {
			continue
		}
		stale := c.Status.LastSeen == nil || now.Sub(c.Status.LastSeen.Time) >= lastSeenRefresh
		// A count written from a view behind a peer's announcement.
		miscounted := int(c.Status.ConnectedAgents) != m.AgentSessions(&c)+m.peerAgents(sessionKey(&c))
		if stale || miscounted || !meta.IsStatusConditionTrue(c.Status.Conditions, v1.ClusterConnected) {
			m.connQueue.AddRateLimited(c.Name) // also starts the controllers
		} else if m.cfg.Replicas == nil {
			m.syncRuntime(m.cfg.Context, c.Name) // with replicas, RunOwnership's resync does
		}
	}
}

// HeldClusters names the clusters whose tunnels this replica holds.
func (m *Manager) HeldClusters() []string {
	var names []string
	seen := map[string]bool{}
	for _, key := range m.heldKeys() {
		if name := clusterOfKey(keySession(key)); !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// MarkDisconnected records, as the server shuts down, that the tunnels it
// held (HeldClusters, read before they closed) are gone; the agents will
// reconnect, perhaps to another replica, which then says so.
//
// A few writes run at once, and none starts after ctx ends: a replica
// holding thousands of clusters must still stop within its grace period.
// Clusters left unwritten are marked by the liveness check of the next
// replica to run (AgentLost), unless their agents are back by then.
func (m *Manager) MarkDisconnected(ctx context.Context, names []string) {
	work := make(chan string)
	var writers sync.WaitGroup
	for range connWriters * 2 {
		writers.Go(func() {
			for name := range work {
				m.setConnected(name)
			}
		})
	}
	left := len(names)
	for _, name := range names {
		select {
		case work <- name:
			left--
			continue
		case <-ctx.Done():
		}
		break
	}
	close(work)
	writers.Wait()
	if left > 0 {
		m.log.Warn("stopped before every cluster this replica held was marked disconnected: the next replica's liveness check marks them",
			"left", left, "of", len(names))
	}
}

func (m *Manager) markLostAgents(ctx context.Context, unheld map[string]time.Time) {
	var list v1.ClusterList
	if err := m.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		return
	}
	now := m.now()
	seen := map[string]bool{}
	for _, c := range list.Items {
		seen[c.Name] = true
		if !meta.IsStatusConditionTrue(c.Status.Conditions, v1.ClusterConnected) || m.Connected(&c) || m.peerHolds(sessionKey(&c)) {
			delete(unheld, c.Name)
			continue
		}
		since, ok := unheld[c.Name]
		if !ok {
			unheld[c.Name] = now
			continue
		}
		if now.Sub(since) < agentLostAfter {
			continue
		}
		cond := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionFalse, Reason: "AgentLost",
			Message: "no replica has held the agent's tunnel for " + agentLostAfter.String()}
		if err := m.applyClusterCondition(ctx, c.Name, ownerTunnel, cond, nil, false); err != nil {
			m.log.Warn("failed to mark a lost agent", "cluster", c.Name, "err", err)
			continue
		}
		delete(unheld, c.Name)
		m.log.Info("cluster agent lost", "cluster", c.Name)
	}
	for name := range unheld {
		if !seen[name] {
			delete(unheld, name)
		}
	}
}
