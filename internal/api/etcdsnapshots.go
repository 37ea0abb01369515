package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/etcdsnapshot"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/wellknown"
)

// maxSnapshots bounds a cluster's snapshots: delete old ones first.
const maxSnapshots = 100

// snapshotCluster is the provisioned cluster of a snapshot request, whose
// administrators may save, list and delete its snapshots.
func (a clustersAPI) snapshotCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity) (*v1.Cluster, bool) {
	c, ok := a.adminCluster(w, r, id, "manage the etcd snapshots")
	if !ok {
		return nil, false
	}
	if c.Spec.Provisioning == nil {
		a.invalid(w, r, "cluster "+c.Name+" is not provisioned by Herd: its etcd is not Herd's to save")
		return nil, false
	}
	return c, true
}

func (a clustersAPI) snapshots(r *http.Request, c *v1.Cluster) ([]v1.EtcdSnapshot, error) {
	var list v1.EtcdSnapshotList
	if err := a.cache.List(r.Context(), &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(list.Items, func(s v1.EtcdSnapshot) bool {
		return s.Spec.ClusterName != c.Name || !ownedByUID(s.OwnerReferences, string(c.UID))
	})
	slices.SortFunc(out, func(x, y v1.EtcdSnapshot) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// handleSaveSnapshot asks for a snapshot of a provisioned cluster's etcd;
// the node agent of its first etcd member takes it.
func (a clustersAPI) handleSaveSnapshot(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	existing, err := a.snapshots(r, c)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if len(existing) >= maxSnapshots {
		a.invalid(w, r, "cluster "+c.Name+" has 100 snapshots: delete old ones first")
		return
	}
	// Names sort by time: the planner takes the oldest pending first.
	name := etcdsnapshot.Name(c.Name, time.Now(), herdtoken.NewName("")[:5])
	s := &v1.EtcdSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.ClusterLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID}}},
		Spec: v1.EtcdSnapshotSpec{ClusterName: c.Name},
	}
	if err := a.client.Create(r.Context(), s); err != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), s, false)
	a.audit.Info("etcd snapshot requested", "actor", id.UserName, "cluster", c.Name, "snapshot", name, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, apiSnapshot(s))
}

func (a clustersAPI) handleListSnapshots(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	list, err := a.snapshots(r, c)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.EtcdSnapshotList{Items: []herdapi.EtcdSnapshot{}}
	for i := range list {
		out.Items = append(out.Items, apiSnapshot(&list[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDeleteSnapshot deletes a snapshot; its file goes from the machine
// at the node agent's next run of the snapshot instruction.
func (a clustersAPI) handleDeleteSnapshot(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	var s v1.EtcdSnapshot
	err := a.cache.Get(r.Context(), client.ObjectKey{Name: r.PathValue("snapshot")}, &s)
	if apierrors.IsNotFound(err) || (err == nil && (s.Spec.ClusterName != c.Name || !ownedByUID(s.OwnerReferences, string(c.UID)))) {
		a.notFound(w, r, "etcd snapshot "+r.PathValue("snapshot")+" of cluster "+c.Name)
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if err := a.client.Delete(r.Context(), &s); client.IgnoreNotFound(err) != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), &s, true)
	a.audit.Info("etcd snapshot deleted", "actor", id.UserName, "cluster", c.Name, "snapshot", s.Name, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

func apiSnapshot(s *v1.EtcdSnapshot) herdapi.EtcdSnapshot {
	out := herdapi.EtcdSnapshot{Name: s.Name, ClusterName: s.Spec.ClusterName, Phase: s.Status.Phase, Machine: s.Status.Machine,
		Location: s.Status.Location, S3Location: s.Status.S3Location, Size: s.Status.Size, SHA256: s.Status.SHA256, KubernetesVersion: s.Status.KubernetesVersion,
		CreatedAt: s.CreationTimestamp.Time, Message: s.Status.Message}
	out.Phase = phaseOr(out.Phase, v1.SnapshotPending)
	if s.Status.TakenAt != nil {
		t := s.Status.TakenAt.Time
		out.TakenAt = &t
	}
	return out
}

// snapshotSchedule checks a new cluster's snapshot schedule; it says what
// is wrong, or "".
func snapshotSchedule(s *herdapi.EtcdSnapshotSchedule, provisioned bool) (*v1.EtcdSnapshotSchedule, string) {
	if s == nil {
		return nil, ""
	}
	if !provisioned {
		return nil, "etcd snapshots are for provisioned clusters: give a Kubernetes version (--provision) too"
	}
	d, err := time.ParseDuration(s.Interval)
	if err != nil || d < time.Minute {
		return nil, fmt.Sprintf("snapshot interval %.32q must be a duration of at least 1m, like 6h", s.Interval)
	}
	if s.Retention < 1 || s.Retention > maxSnapshots {
		return nil, fmt.Sprintf("snapshot retention %d must be between 1 and %d", s.Retention, maxSnapshots)
	}
	return &v1.EtcdSnapshotSchedule{Interval: metav1.Duration{Duration: d}, Retention: s.Retention}, ""
}

// handleSetSchedule sets (PUT) or ends (DELETE) a provisioned cluster's
// snapshot schedule; it answers the cluster.
func (a clustersAPI) handleSetSchedule(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var sched *v1.EtcdSnapshotSchedule
	if r.Method == http.MethodPut {
		var req herdapi.EtcdSnapshotSchedule
		if !a.decode(w, r, &req) {
			return
		}
		var msg string
		if sched, msg = snapshotSchedule(&req, true); msg != "" {
			a.invalid(w, r, msg)
			return
		}
	}
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	c, _, err := a.updateSpec(r.Context(), c.Name, func(cur *v1.Cluster) string {
		cur.Spec.Provisioning.EtcdSnapshots = sched
		return ""
	})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("etcd snapshot schedule set", "actor", id.UserName, "cluster", c.Name, "schedule", sched, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, apiCluster(c))
}
