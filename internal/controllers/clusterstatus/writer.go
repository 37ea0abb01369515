package clusterstatus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// DefaultFieldOwner is ManagementWriter's field manager when FieldOwner is
// empty.
const DefaultFieldOwner = "herd-clusterstatus"

// Writer records the observed status of a cluster. The Controller calls it
// from one goroutine at a time; it must not keep or change o's slices and
// maps.
type Writer interface {
	WriteStatus(ctx context.Context, cluster string, o Observed) error
}

// Observed is what the Controller saw of a downstream cluster: the part of
// the Cluster status that it owns.
type Observed struct {
	// Ready is the Ready condition: status True (reason APIServerReady) or
	// False (reason APIServerNotReady, with the error), and the time the
	// status last changed.
	Ready metav1.Condition
	// KubernetesVersion is the apiserver's git version; empty until known.
	KubernetesVersion string
	// Nodes are sorted by name; NodeCount is their number.
	Nodes     []v1.ClusterNode
	NodeCount int32
	// Capacity and Allocatable sum cpu, memory and pods over the nodes.
	// Requested sums the requests of scheduled, unfinished pods, and its
	// pods is their number.
	Capacity, Allocatable, Requested corev1.ResourceList
	// LastSeen is when the downstream apiserver last answered a probe
	// (ready or not); zero if it never has.
	LastSeen time.Time
}

// sameAs reports whether o and p differ in nothing but LastSeen.
func (o Observed) sameAs(p Observed) bool {
	// Semantic equality compares quantities by value and metav1.Times by
	// instant; it cannot look into time.Time, so LastSeen stays out anyway.
	return o.KubernetesVersion == p.KubernetesVersion && o.NodeCount == p.NodeCount &&
		equality.Semantic.DeepEqual(o.Ready, p.Ready) &&
		equality.Semantic.DeepEqual(o.Nodes, p.Nodes) &&
		equality.Semantic.DeepEqual(o.Capacity, p.Capacity) &&
		equality.Semantic.DeepEqual(o.Allocatable, p.Allocatable) &&
		equality.Semantic.DeepEqual(o.Requested, p.Requested)
}

// ManagementWriter writes the status to the Cluster object of the
// management cluster with server-side apply on the status subresource. It
// applies only the fields it owns, and of the conditions only Ready:
// conditions is a map list keyed by type, so the server's Connected
// condition, applied by another field manager, stays.
type ManagementWriter struct {
	// Client reaches the management cluster; its scheme must hold api/v1.
	Client client.Client
	// OmitLastSeen leaves lastSeen to another writer (Herd's server sets
	// it from the agent's tunnel, which stays up while /readyz fails).
	OmitLastSeen bool
	// FieldOwner is the field manager. Empty: DefaultFieldOwner.
	FieldOwner string
}

var _ Writer = ManagementWriter{}

// WriteStatus applies o to the status of the Cluster named cluster. It
// reads the Cluster first (cheap when Client reads from a cache) to keep
// the stored Ready transition time; see keepTransitionTime.
func (w ManagementWriter) WriteStatus(ctx context.Context, cluster string, o Observed) error {
	var stored v1.Cluster
	if err := w.Client.Get(ctx, client.ObjectKey{Name: cluster}, &stored); err != nil {
		return fmt.Errorf("failed to get cluster %s: %w", cluster, err)
	}
	o.Ready = keepTransitionTime(stored.Status.Conditions, o.Ready)
	if w.OmitLastSeen {
		o.LastSeen = time.Time{}
	}
	if holds(stored.Status, o) {
		// A heartbeat of an unchanged status: nothing to write. With
		// hundreds of clusters, writing anyway would be most of the
		// management cluster's writes at idle (BenchmarkIdleWrites).
		return nil
	}
	body, err := applyBody(cluster, o)
	if err != nil {
		return fmt.Errorf("failed to encode the status of cluster %s: %w", cluster, err)
	}
	owner := w.FieldOwner
	if owner == "" {
		owner = DefaultFieldOwner
	}
	obj := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}}
	err = w.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(owner), client.ForceOwnership)
	if err != nil {
		return fmt.Errorf("failed to apply the status of cluster %s: %w", cluster, err)
	}
	return nil
}

// holds reports whether stored already says all that applying o would.
func holds(stored v1.ClusterStatus, o Observed) bool {
	if !o.LastSeen.IsZero() && (stored.LastSeen == nil || !stored.LastSeen.Time.Equal(o.LastSeen.Truncate(time.Second))) {
		return false
	}
	want := applyStatus(o)
	have := v1.ClusterStatus{KubernetesVersion: stored.KubernetesVersion, Nodes: stored.Nodes, NodeCount: stored.NodeCount,
		Capacity: stored.Capacity, Allocatable: stored.Allocatable, Requested: stored.Requested}
	if ready := meta.FindStatusCondition(stored.Conditions, v1.ClusterReady); ready != nil {
		have.Conditions = []metav1.Condition{*ready}
	}
	want.LastSeen = nil
	return equality.Semantic.DeepEqual(have, want)
}

// keepTransitionTime returns ready with the lastTransitionTime of the
// stored Ready condition if that has the same status. The Controller keeps
// the time only while it runs; this keeps it across tunnel sessions,
// server restarts and moves to another replica.
func keepTransitionTime(stored []metav1.Condition, ready metav1.Condition) metav1.Condition {
	old := meta.FindStatusCondition(stored, v1.ClusterReady)
	if old != nil && old.Status == ready.Status && !old.LastTransitionTime.IsZero() {
		ready.LastTransitionTime = old.LastTransitionTime
	}
	return ready
}

// applyConfig is the apply body: identity and status, no spec.
type applyConfig struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        applyMeta        `json:"metadata"`
	Status          v1.ClusterStatus `json:"status"`
}

type applyMeta struct {
	Name string `json:"name"`
}

// applyBody returns the server-side apply body for o. Empty fields are
// left out, which with apply removes them: a cluster with no nodes shows
// none rather than the last ones seen.
func applyBody(cluster string, o Observed) ([]byte, error) {
	return json.Marshal(applyConfig{
		TypeMeta: metav1.TypeMeta{APIVersion: v1.GroupVersion.String(), Kind: "Cluster"},
		Metadata: applyMeta{Name: cluster},
		Status:   applyStatus(o),
	})
}

// applyStatus is the status that applying o writes.
func applyStatus(o Observed) v1.ClusterStatus {
	ready := o.Ready
	ready.Type = v1.ClusterReady
	status := v1.ClusterStatus{
		Conditions:        []metav1.Condition{ready},
		KubernetesVersion: o.KubernetesVersion,
		Nodes:             o.Nodes,
		NodeCount:         o.NodeCount,
		Capacity:          o.Capacity,
		Allocatable:       o.Allocatable,
		Requested:         o.Requested,
	}
	if !o.LastSeen.IsZero() {
		status.LastSeen = &metav1.Time{Time: o.LastSeen}
	}
	return status
}
