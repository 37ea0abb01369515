package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// TestLostAgentSweep: a cluster that says Connected but whose tunnel no
// replica has held for 30 s (its replica crashed) is marked not Connected
// by the leader, with reason AgentLost.
func TestLostAgentSweep(t *testing.T) {
	s := onMgmt(t, nil)
	waitFor(t, "the server to lead", 20*time.Second, s.IsLeader)
	ctx := context.Background()
	c, err := client.New(s.ManagementConfig(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	cluster := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "crashed-replica"}}
	_ = c.Delete(ctx, cluster)
	if err := c.Create(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cluster) })
	stale := metav1.NewTime(time.Now().Add(-time.Minute))
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{
		"lastSeen": stale,
		"conditions": []metav1.Condition{{Type: v1.ClusterConnected, Status: metav1.ConditionTrue, Reason: "AgentConnected",
			Message: "the agent's tunnel is up", LastTransitionTime: stale}},
	}})
	if err := c.Status().Patch(ctx, cluster, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	var got *metav1.Condition
	waitFor(t, "the lost agent to be marked", 50*time.Second, func() bool {
		var now v1.Cluster
		if c.Get(ctx, client.ObjectKey{Name: cluster.Name}, &now) != nil {
			return false
		}
		got = meta.FindStatusCondition(now.Status.Conditions, v1.ClusterConnected)
		return got != nil && got.Status == metav1.ConditionFalse
	})
	if got.Reason != "AgentLost" {
		t.Errorf("reason: got %s, want AgentLost", got.Reason)
	}
}
