package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/wellknown"
)

// maxRestores bounds the restores a cluster keeps as its history.
const maxRestores = 100

func (a clustersAPI) restores(ctx context.Context, c *v1.Cluster) ([]v1.EtcdRestore, error) {
	var list v1.EtcdRestoreList
	if err := a.cache.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(list.Items, func(r v1.EtcdRestore) bool {
		return r.Spec.ClusterName != c.Name || !ownedByUID(r.OwnerReferences, string(c.UID))
	})
	slices.SortFunc(out, func(x, y v1.EtcdRestore) int {
		if d := x.CreationTimestamp.Compare(y.CreationTimestamp.Time); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, nil
}

// handleRestore starts a restore of a provisioned cluster from one of
// its snapshots that was taken. One runs at a time; none while an upgrade
// runs.
func (a clustersAPI) handleRestore(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.EtcdRestoreRequest
	if !a.decode(w, r, &req) {
		return
	}
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	var s v1.EtcdSnapshot
	err := a.cache.Get(r.Context(), client.ObjectKey{Name: req.Snapshot}, &s)
	if req.Snapshot == "" || err != nil && client.IgnoreNotFound(err) == nil || err == nil && (s.Spec.ClusterName != c.Name || !ownedByUID(s.OwnerReferences, string(c.UID))) {
		a.invalid(w, r, fmt.Sprintf("cluster %s has no etcd snapshot %.64q (`herdctl etcd snapshot list %s` lists them)", c.Name, req.Snapshot, c.Name))
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if s.Status.Phase != v1.SnapshotSucceeded {
		a.invalid(w, r, fmt.Sprintf("etcd snapshot %s was not taken (phase %s): there is nothing to restore", s.Name, phaseOr(s.Status.Phase, v1.SnapshotPending)))
		return
	}
	if msg, err := a.restoreBusy(r.Context(), c); err != nil || msg != "" {
		if err != nil {
			a.internal(w, r, err)
			return
		}
		a.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, msg, nil)
		return
	}
	restore := &v1.EtcdRestore{
		ObjectMeta: metav1.ObjectMeta{Name: "restore-" + c.Name + "-" + herdtoken.NewName("")[:8], Labels: map[string]string{wellknown.ClusterLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID}}},
		Spec: v1.EtcdRestoreSpec{ClusterName: c.Name, SnapshotName: s.Name},
	}
	if err := a.client.Create(r.Context(), restore); err != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), restore, false)
	a.audit.Info("etcd restore requested", "actor", id.UserName, "cluster", c.Name, "snapshot", s.Name, "restore", restore.Name, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, apiRestore(restore))
}

// restoreBusy says why c cannot start a restore now ("" if it can).
func (a clustersAPI) restoreBusy(ctx context.Context, c *v1.Cluster) (string, error) {
	if cond := meta.FindStatusCondition(c.Status.Conditions, v1.ClusterUpgraded); cond != nil && cond.Reason == "Upgrading" {
		return "cluster " + c.Name + " is being upgraded to Kubernetes " + c.Spec.Provisioning.KubernetesVersion + ": restore once the upgrade has ended", nil
	}
	list, err := a.restores(ctx, c)
	if err != nil {
		return "", err
	}
	if len(list) >= maxRestores {
		return fmt.Sprintf("cluster %s keeps %d restores: delete the cluster's old ones first", c.Name, maxRestores), nil
	}
	for _, r := range list {
		if r.Status.Phase != v1.RestoreSucceeded && r.Status.Phase != v1.RestoreFailed {
			return "restore " + r.Name + " of cluster " + c.Name + " has not ended: one restore runs at a time", nil
		}
	}
	return "", nil
}

// busyWithRestore says why c cannot change version now ("" if it can):
// a restore of its etcd has not ended.
func (a clustersAPI) busyWithRestore(r *http.Request, c *v1.Cluster) string {
	list, err := a.restores(r.Context(), c)
	if err != nil {
		return "cannot tell whether a restore runs; try again"
	}
	for _, x := range list {
		if x.Status.Phase != v1.RestoreSucceeded && x.Status.Phase != v1.RestoreFailed {
			return "restore " + x.Name + " of cluster " + c.Name + " has not ended: upgrade once it has"
		}
	}
	return ""
}

func (a clustersAPI) handleListRestores(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	list, err := a.restores(r.Context(), c)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.EtcdRestoreList{Items: []herdapi.EtcdRestore{}}
	for i := range list {
		out.Items = append(out.Items, apiRestore(&list[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// phaseOr is phase p, or pending when none was written yet.
func phaseOr(p, pending string) string {
	if p == "" {
		return pending
	}
	return p
}

func apiRestore(r *v1.EtcdRestore) herdapi.EtcdRestore {
	out := herdapi.EtcdRestore{Name: r.Name, ClusterName: r.Spec.ClusterName, Snapshot: r.Spec.SnapshotName, Phase: phaseOr(r.Status.Phase, v1.RestorePending),
		Step: r.Status.Step, Message: r.Status.Message, CreatedAt: r.CreationTimestamp.Time}
	if t := r.Status.StartedAt; t != nil {
		out.StartedAt = &t.Time
	}
	if t := r.Status.FinishedAt; t != nil {
		out.FinishedAt = &t.Time
	}
	return out
}
