package bundle

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/bundles"
)

// placed is a targeted cluster for the status: its target, or refused.
type placed struct {
	t       *target
	refused bool
	cluster string
}

func targetsAndRefused(ts []target, refused []string) []placed {
	out := make([]placed, 0, len(ts)+len(refused))
	for i := range ts {
		out = append(out, placed{t: &ts[i], cluster: ts[i].cluster})
	}
	for _, c := range refused {
		out = append(out, placed{refused: true, cluster: c})
	}
	slices.SortFunc(out, func(a, b placed) int { return strings.Compare(a.cluster, b.cluster) })
	return out
}

// carryOut creates, updates and deletes the deployments p names.
func (r *Reconciler) carryOut(ctx context.Context, b *v1.Bundle, p plan, existing map[string]*v1.BundleDeployment) error {
	for _, name := range p.delete {
		bd := &v1.BundleDeployment{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := r.client.Delete(ctx, bd); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete deployment %s: %w", name, err)
		}
		r.log.Info("bundle removed from cluster", "bundle", b.Name, "deployment", name)
	}
	for _, spec := range p.stage {
		if bd := existing[spec.ClusterName]; bd != nil {
			upd := bd.DeepCopy()
			upd.Spec = spec
			if err := r.client.Update(ctx, upd); err != nil {
				return fmt.Errorf("failed to stage revision %s on cluster %s: %w", spec.Revision, spec.ClusterName, err)
			}
			r.log.Info("bundle revision staged", "bundle", b.Name, "cluster", spec.ClusterName, "revision", spec.Revision)
			continue
		}
		bd := &v1.BundleDeployment{
			ObjectMeta: metav1.ObjectMeta{Name: v1.BundleDeploymentName(b.Name, spec.ClusterName),
				Labels:     map[string]string{v1.BundleLabel: b.Name, v1.BundleClusterLabel: spec.ClusterName},
				Finalizers: []string{v1.BundleFinalizer}},
			Spec: spec,
		}
		if err := controllerutil.SetControllerReference(b, bd, r.client.Scheme()); err != nil {
			return err
		}
		if err := r.client.Create(ctx, bd); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to deploy to cluster %s: %w", spec.ClusterName, err)
		}
		r.log.Info("bundle deployed to cluster", "bundle", b.Name, "cluster", spec.ClusterName, "revision", spec.Revision)
	}
	return nil
}

// finish writes the Bundle's status: each cluster's state, the summary,
// and the Ready condition. A failure reason (with its message) leaves the
// deployments as they are and says why.
func (r *Reconciler) finish(ctx context.Context, b *v1.Bundle, st *v1.BundleStatus, bds []v1.BundleDeployment, ps []placed, reason, message string) (reconcile.Result, error) {
	byCluster := map[string]*v1.BundleDeployment{}
	for i := range bds {
		byCluster[bds[i].Spec.ClusterName] = &bds[i]
	}
	if reason != "" { // the plan was not made: report the deployments as they are
		ps = nil
		for _, bd := range bds {
			ps = append(ps, placed{cluster: bd.Spec.ClusterName})
		}
		slices.SortFunc(ps, func(a, b placed) int { return strings.Compare(a.cluster, b.cluster) })
	}
	st.Clusters = st.Clusters[:0]
	st.Desired, st.ReadyClusters = int32(len(ps)), 0
	for _, p := range ps {
		entry := clusterEntry(p, byCluster[p.cluster], st.Revision, b.Annotations[v1.BundleCreatorAnnotation])
		if entry.State == v1.BundleStateReady && entry.Revision == st.Revision {
			st.ReadyClusters++
		}
		st.Clusters = append(st.Clusters, entry)
	}
	st.Summary = fmt.Sprintf("%d/%d", st.ReadyClusters, st.Desired)
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: b.Generation,
		Message: fmt.Sprintf("revision %s is ready on %s clusters", st.Revision, st.Summary)}
	switch {
	case reason != "":
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, reason, bundles.TrimMessage(message)
		st.Message = ready.Message
	case len(ps) == 0:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "NoTargets", "the targets select no cluster"
		st.Message = ready.Message
	case st.ReadyClusters < st.Desired:
		ready.Status, ready.Reason = metav1.ConditionFalse, "RollingOut"
		if st.Paused {
			ready.Reason = "Paused"
		}
		ready.Message = fmt.Sprintf("revision %s is ready on %s clusters", st.Revision, st.Summary)
		if message != "" {
			ready.Message += "; " + message
		}
		st.Message = bundles.TrimMessage(message)
	default:
		st.Message = message
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	if equality.Semantic.DeepEqual(&b.Status, st) {
		return reconcile.Result{}, nil
	}
	upd := b.DeepCopy()
	upd.Status = *st
	if err := r.client.Status().Update(ctx, upd); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

// clusterEntry is one cluster's line of the Bundle's status.
func clusterEntry(p placed, bd *v1.BundleDeployment, revision, creator string) v1.BundleClusterStatus {
	e := v1.BundleClusterStatus{Cluster: p.cluster, State: v1.BundleStateWaiting}
	switch {
	case p.refused:
		e.State, e.Message = v1.BundleStateError, fmt.Sprintf("the Bundle's creator %s may not reach this cluster", creator)
		return e
	case bd == nil:
		e.Message = "waits for the rollout"
		return e
	}
	e.Revision = bd.Status.AppliedRevision
	e.State, e.Message = bd.Status.State, bd.Status.Message
	if e.State == "" {
		e.State = v1.BundleStatePending
	}
	if p.t != nil && !p.t.connected {
		e.State, e.Message = v1.BundleStateOffline, "the cluster's agent is not connected; it gets revision "+bd.Spec.Revision+" when it is"
	}
	if p.t != nil && bd.Spec.Hash != p.t.spec.Hash && e.State != v1.BundleStateError {
		e.Message = "waits for the rollout to reach it (revision " + revision + ")"
		if e.State == v1.BundleStateReady {
			e.State = v1.BundleStateWaiting
		}
	}
	return e
}

// orphans releases the deployments of clusters that no longer exist:
// nothing is left to remove anything from.
type orphans struct {
	client client.Client
	log    interface {
		Info(string, ...any)
	}
}

func (o *orphans) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var bd v1.BundleDeployment
	if err := o.client.Get(ctx, req.NamespacedName, &bd); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if bd.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(&bd, v1.BundleFinalizer) {
		return reconcile.Result{}, nil
	}
	var c v1.Cluster
	err := o.client.Get(ctx, client.ObjectKey{Name: bd.Spec.ClusterName}, &c)
	if err == nil && c.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // the cluster's controllers remove it
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	controllerutil.RemoveFinalizer(&bd, v1.BundleFinalizer)
	o.log.Info("bundle deployment of a deleted cluster released", "deployment", bd.Name)
	return reconcile.Result{}, client.IgnoreNotFound(o.client.Update(ctx, &bd))
}
