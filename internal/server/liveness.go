package server

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "herd.dev/herd/api/v1"
)

// Liveness bounds: a replica that holds a cluster's tunnel refreshes its
// lastSeen every statusHeartbeat; the leader marks a cluster not Connected
// when lastSeen is older than agentLostAfter (a replica that died cannot
// say so itself).
const (
	statusHeartbeat = 10 * time.Second
	agentLostAfter  = 30 * time.Second
	livenessEvery   = 5 * time.Second
)

// leaderOnly is a runnable that runs on the leader.
type leaderOnly func(context.Context) error

func (f leaderOnly) Start(ctx context.Context) error { return f(ctx) }
func (leaderOnly) NeedLeaderElection() bool          { return true }

var _ manager.LeaderElectionRunnable = leaderOnly(nil)

// sweepLostAgents runs on the leader until ctx ends.
func (s *Server) sweepLostAgents(ctx context.Context) error {
	t := time.NewTicker(livenessEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.markLostAgents(ctx)
		}
	}
}

func (s *Server) markLostAgents(ctx context.Context) {
	var list v1.ClusterList
	if err := s.cache.List(ctx, &list); err != nil {
		return
	}
	now := s.now()
	for _, c := range list.Items {
		if !meta.IsStatusConditionTrue(c.Status.Conditions, v1.ClusterConnected) || s.tunnel.Connected(c.Name) {
			continue
		}
		if c.Status.LastSeen != nil && now.Sub(c.Status.LastSeen.Time) < agentLostAfter {
			continue
		}
		cond := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionFalse, Reason: "AgentLost",
			Message: "no replica has heard from the agent for " + agentLostAfter.String()}
		if err := s.applyClusterCondition(ctx, c.Name, ownerTunnel, cond, nil, false); err != nil {
			s.cfg.Logger.Warn("failed to mark a lost agent", "cluster", c.Name, "err", err)
			continue
		}
		s.cfg.Logger.Info("cluster agent lost", "cluster", c.Name)
	}
}
