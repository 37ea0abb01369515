package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/controllers/rbac"
	"herd.dev/herd/internal/index"
)

// Field managers of the parts of a Cluster's status the server writes.
const (
	ownerTunnel = "herd-tunnel"
	ownerRBAC   = "herd-rbac"
	ownerGuard  = "herd-projectguard"
)

// reportProjectGuard records whether a cluster enforces project boundaries.
func (m *Manager) reportProjectGuard(ctx context.Context, cluster string, enforced bool, reason, message string) {
	cond := metav1.Condition{Type: v1.ClusterProjectGuard, Status: metav1.ConditionTrue, Reason: reason, Message: truncate(message, 1024)}
	if !enforced {
		cond.Status = metav1.ConditionFalse
	}
	if err := m.applyClusterCondition(ctx, cluster, ownerGuard, cond, nil, true); err != nil && ctx.Err() == nil {
		m.log.Warn("failed to record the project guard", "cluster", cluster, "err", err)
	}
}

// applyClusterCondition sets one condition of a Cluster's status, and the
// extra status fields, by server-side apply as owner: the other
// conditions, which other field managers own, stay as they are. The
// condition keeps its lastTransitionTime while its status is unchanged;
// with skipUnchanged nothing is written when the condition is already so.
func (m *Manager) applyClusterCondition(ctx context.Context, cluster, owner string, cond metav1.Condition, extra map[string]any, skipUnchanged bool) error {
	var c v1.Cluster
	if err := m.cache.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil {
		return err
	}
	cond.ObservedGeneration = c.Generation
	cond.LastTransitionTime = metav1.NewTime(m.now())
	if old := meta.FindStatusCondition(c.Status.Conditions, cond.Type); old != nil && old.Status == cond.Status {
		if skipUnchanged && old.Reason == cond.Reason && old.Message == cond.Message {
			return nil
		}
		cond.LastTransitionTime = old.LastTransitionTime
	}
	status := map[string]any{"conditions": []metav1.Condition{cond}}
	maps.Copy(status, extra)
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1.GroupVersion.String(), "kind": "Cluster",
		"metadata": map[string]any{"name": cluster}, "status": status,
	})
	if err != nil {
		return err
	}
	return m.client.Status().Patch(ctx, &c, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(owner), client.ForceOwnership)
}

// reportRBAC records an RBAC sync of a cluster: the RBACSynced condition
// and the namespaces of its projects.
func (m *Manager) reportRBAC(ctx context.Context, cluster string, res rbac.Result) {
	cond := metav1.Condition{Type: v1.ClusterRBACSynced, Status: metav1.ConditionTrue, Reason: "Synced",
		Message: "the cluster holds every role and binding"}
	switch {
	case res.Err != nil && errors.Is(res.Err, rbac.ErrConflict):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "NameConflict", truncate(res.Err.Error(), 1024)
	case res.Err != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "SyncFailed", truncate("retrying: "+res.Err.Error(), 1024)
	case len(res.Problems) > 0:
		keys := slices.Sorted(maps.Keys(res.Problems))
		cond.Message = fmt.Sprintf("%d object(s) skipped as invalid, e.g. %s: %v", len(keys), keys[0], res.Problems[keys[0]])
	}
	if err := m.applyClusterCondition(ctx, cluster, ownerRBAC, cond, nil, true); err != nil && ctx.Err() == nil {
		m.log.Warn("failed to record the RBAC sync", "cluster", cluster, "err", err)
	}
	m.recordProjectNamespaces(ctx, cluster, res.Namespaces)
}

// recordProjectNamespaces writes each project's namespaces to its status
// when they changed.
func (m *Manager) recordProjectNamespaces(ctx context.Context, cluster string, namespaces map[string][]string) {
	var projects v1.ProjectList
	if err := m.cache.List(ctx, &projects, client.MatchingFields{index.Cluster: cluster}); err != nil {
		return
	}
	for i := range projects.Items {
		p := &projects.Items[i]
		want := namespaces[p.Name]
		if slices.Equal(p.Status.Namespaces, want) {
			continue
		}
		if want == nil {
			want = []string{}
		}
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"namespaces": want}})
		if err := m.client.Status().Patch(ctx, p, client.RawPatch(types.MergePatchType, patch)); err != nil && ctx.Err() == nil {
			m.log.Warn("failed to record the project's namespaces", "project", p.Name, "err", err)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
