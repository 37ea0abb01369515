package bundleapply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/bundles"
)

// notReadyRecheck is how soon a deployment that is not ready is looked at
// again (its objects' watches usually say sooner).
const notReadyRecheck = 5 * time.Second

// sync brings one deployment's cluster state to its spec and reports.
func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	var bd v1.BundleDeployment
	// Read uncached: the status this controller wrote last must be seen,
	// or it would apply the same revision twice.
	if err := c.cfg.API.Get(ctx, client.ObjectKey{Name: name}, &bd); err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(name)
			return 0, nil
		}
		return 0, err
	}
	if bd.Spec.ClusterName != c.cfg.Cluster {
		return 0, nil
	}
	if !bd.DeletionTimestamp.IsZero() {
		return 0, c.remove(ctx, &bd)
	}
	st := bd.Status.DeepCopy()
	switch {
	case st.AppliedHash != bd.Spec.Hash && st.FailedHash == bd.Spec.Hash:
		return 0, nil // failed: tried again when the spec changes
	case st.AppliedHash != bd.Spec.Hash:
		if err := c.applyAndRecord(ctx, &bd, st); err != nil {
			return 0, err
		}
		if st.State == v1.BundleStateError {
			return 0, c.writeStatus(ctx, &bd, st)
		}
	default:
		if err := c.checkDrift(ctx, &bd, st); err != nil {
			return 0, err
		}
	}
	ready, message := c.readiness(ctx, c.desired[bd.Name])
	st.Ready = ready
	switch {
	case st.Drifted:
		st.State = v1.BundleStateDrifted
	case ready:
		st.State, st.Message = v1.BundleStateReady, ""
	default:
		st.State, st.Message = v1.BundleStateNotReady, message
	}
	if err := c.writeStatus(ctx, &bd, st); err != nil {
		return 0, err
	}
	if !ready {
		return notReadyRecheck, nil
	}
	return 0, nil
}

// applyAndRecord applies the deployment's spec and records the outcome in
// st. A failure of the content or of the user's rights is recorded as
// the Error state; other errors are returned, to be retried.
func (c *Controller) applyAndRecord(ctx context.Context, bd *v1.BundleDeployment, st *v1.BundleDeploymentStatus) error {
	st.State, st.Message = v1.BundleStatePending, ""
	objs, release, err := c.apply(ctx, bd)
	var f *failure
	switch {
	case errors.As(err, &f):
		st.State, st.FailedHash, st.Ready = v1.BundleStateError, bd.Spec.Hash, false
		st.Message = bundles.TrimMessage(fmt.Sprintf("revision %s: %s", bd.Spec.Revision, f.msg))
		c.log.Warn("bundle failed to apply", "deployment", bd.Name, "revision", bd.Spec.Revision, "err", f.msg)
		return nil
	case err != nil:
		st.State, st.Message = v1.BundleStateError, bundles.TrimMessage(fmt.Sprintf("revision %s: %v (retrying)", bd.Spec.Revision, err))
		if werr := c.writeStatus(ctx, bd, st); werr != nil {
			c.log.Warn("failed to write bundle status", "deployment", bd.Name, "err", werr)
		}
		return err
	}
	c.remember(bd, objs)
	c.prune(ctx, bd, objs)
	now := metav1.NewTime(c.cfg.Now())
	st.AppliedHash, st.AppliedRevision, st.FailedHash, st.Drifted = bd.Spec.Hash, bd.Spec.Revision, "", false
	st.Objects, st.ReleaseRevision, st.LastApplied = refs(objs), release, &now
	c.log.Info("bundle applied", "deployment", bd.Name, "revision", bd.Spec.Revision, "objects", len(objs))
	return nil
}

// checkDrift compares the cluster with what was applied, and puts it back
// (Correct) or says so (Report).
func (c *Controller) checkDrift(ctx context.Context, bd *v1.BundleDeployment, st *v1.BundleDeploymentStatus) error {
	want, err := c.wanted(ctx, bd)
	if err != nil {
		return err
	}
	what, err := c.drift(ctx, want.objects)
	if err != nil || what == "" {
		if what == "" && err == nil {
			st.Drifted = false
		}
		return err
	}
	if bd.Spec.DriftCorrection == v1.DriftReport {
		if !st.Drifted {
			c.log.Info("bundle drifted (reported only)", "deployment", bd.Name, "drift", what)
		}
		st.Drifted, st.Message = true, bundles.TrimMessage(what+" (drift is reported only: spec.driftCorrection is Report)")
		return nil
	}
	objs, release, err := c.apply(ctx, bd)
	if err != nil {
		st.Drifted, st.Message = true, bundles.TrimMessage(fmt.Sprintf("%s; putting it back failed: %v", what, err))
		var f *failure
		if errors.As(err, &f) {
			return nil
		}
		return err
	}
	c.remember(bd, objs)
	st.Drifted, st.Corrections, st.ReleaseRevision = false, st.Corrections+1, release
	c.log.Info("bundle drift corrected", "deployment", bd.Name, "drift", what)
	return nil
}

// wanted is what the deployment applied last, rebuilt after a restart.
func (c *Controller) wanted(ctx context.Context, bd *v1.BundleDeployment) (*applied, error) {
	c.mu.Lock()
	a := c.desired[bd.Name]
	c.mu.Unlock()
	if a != nil && a.hash == bd.Spec.Hash {
		return a, nil
	}
	objs, err := c.render(ctx, bd)
	if err != nil {
		return nil, err
	}
	c.remember(bd, objs)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.desired[bd.Name], nil
}

func (c *Controller) remember(bd *v1.BundleDeployment, objs []*unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.desired[bd.Name] = &applied{hash: bd.Spec.Hash, objects: objs}
}

func (c *Controller) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.desired, name)
}

func refs(objs []*unstructured.Unstructured) []v1.BundleObject {
	out := make([]v1.BundleObject, 0, len(objs))
	for _, o := range objs {
		out = append(out, v1.BundleObject{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()})
	}
	return out
}

// writeStatus writes st if it changed.
func (c *Controller) writeStatus(ctx context.Context, bd *v1.BundleDeployment, st *v1.BundleDeploymentStatus) error {
	if equality.Semantic.DeepEqual(&bd.Status, st) {
		return nil
	}
	upd := bd.DeepCopy()
	upd.Status = *st
	if err := c.cfg.Client.Status().Update(ctx, upd); err != nil {
		return client.IgnoreNotFound(err)
	}
	bd.Status = *st
	return nil
}

// remove takes what the deployment applied out of the cluster, then lets
// the deployment go.
func (c *Controller) remove(ctx context.Context, bd *v1.BundleDeployment) error {
	if !controllerutil.ContainsFinalizer(bd, v1.BundleFinalizer) {
		return nil
	}
	if err := c.uninstall(ctx, bd); err != nil {
		return err
	}
	c.forget(bd.Name)
	upd := bd.DeepCopy()
	controllerutil.RemoveFinalizer(upd, v1.BundleFinalizer)
	if err := c.cfg.Client.Update(ctx, upd); err != nil {
		return client.IgnoreNotFound(err)
	}
	c.log.Info("bundle removed", "deployment", bd.Name)
	return nil
}
