// Package bundle rolls Bundles out: it reads each Bundle's content (inline
// manifests, or a Git directory polled for new commits) into a content
// Secret per revision, works out which clusters the Bundle targets and
// what each gets (namespace and values after overrides), and keeps one
// BundleDeployment per targeted cluster, staging a new revision on at
// most rollout.maxChanging clusters at once and pausing when one fails.
// The clusters' own controllers apply what the deployments say and report
// back; this controller sums that up in the Bundle's status. It runs on
// the leader.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/bundles"
	"herd.dev/herd/internal/wellknown"
)

// Reach says whether a user may reach a cluster through Herd at all.
type Reach func(ctx context.Context, id *authn.Identity, cluster string) bool

// Options configure the controller.
type Options struct {
	// Reach decides which targeted clusters the Bundle's creator may
	// reach; the others are reported, not deployed to. Required.
	Reach Reach
	// Namespace holds content and Git credential Secrets; "": herd-system.
	Namespace string
	// Logger; nil: discard. Now: nil: time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Reconciler reconciles Bundles.
type Reconciler struct {
	client    client.Client
	api       client.Reader
	reach     Reach
	namespace string
	log       *slog.Logger
	now       func() time.Time
	// stored holds the content Secrets known to exist (Bundle UID/name),
	// so that a reconcile of inline content does not write again.
	stored sync.Map
	// polls holds each Bundle's last poll, by name.
	polls sync.Map
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// Setup registers the Bundle controller and the one that releases the
// deployments of deleted clusters.
func Setup(mgr ctrl.Manager, o Options) error {
	if o.Reach == nil {
		return errors.New("bundle: Reach is required")
	}
	if o.Namespace == "" {
		o.Namespace = wellknown.Namespace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Reconciler{client: mgr.GetClient(), api: mgr.GetAPIReader(), reach: o.Reach, namespace: o.Namespace, log: o.Logger, now: o.Now}
	everyBundle := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list v1.BundleList
		if err := r.client.List(ctx, &list); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, b := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: b.Name}})
		}
		return out
	})
	ofDeployment := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if name := o.GetLabels()[v1.BundleLabel]; name != "" {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: name}}}
		}
		return nil
	})
	// Several servers may run in one process (tests): their controllers
	// share names.
	skip := true
	err := ctrl.NewControllerManagedBy(mgr).Named("bundle").For(&v1.Bundle{}).
		WithOptions(controller.Options{SkipNameValidation: &skip}).
		Watches(&v1.BundleDeployment{}, ofDeployment).
		Watches(&v1.Cluster{}, everyBundle, builder.WithPredicates(clusterChange())).
		Watches(&v1.User{}, everyBundle).
		Complete(r)
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("bundledeployment-orphans").For(&v1.BundleDeployment{}).
		WithOptions(controller.Options{SkipNameValidation: &skip}).
		Complete(&orphans{client: r.client, log: r.log})
}

// clusterChange passes what changes a bundle's targets: a cluster made or
// deleted, its labels, its connection; not its status heartbeats.
func clusterChange() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*v1.Cluster), e.ObjectNew.(*v1.Cluster)
		return !maps.Equal(o.Labels, n.Labels) || !o.DeletionTimestamp.Equal(n.DeletionTimestamp) ||
			meta.IsStatusConditionTrue(o.Status.Conditions, v1.ClusterConnected) != meta.IsStatusConditionTrue(n.Status.Conditions, v1.ClusterConnected)
	}}
}

// Reconcile brings one Bundle's deployments and status up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var b v1.Bundle
	if err := r.client.Get(ctx, req.NamespacedName, &b); err != nil {
		if apierrors.IsNotFound(err) {
			r.polls.Delete(req.Name)
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // its deployments and content go with it
	}
	// The deployments are read uncached: the rollout limit counts what
	// was staged a moment ago, which the cache may not show yet.
	var bds v1.BundleDeploymentList
	if err := r.api.List(ctx, &bds, client.MatchingLabels{v1.BundleLabel: b.Name}); err != nil {
		return reconcile.Result{}, err
	}
	st := b.Status.DeepCopy()
	st.ObservedGeneration = b.Generation
	user, err := r.creator(ctx, &b)
	if err != nil {
		return r.finish(ctx, &b, st, bds.Items, nil, "Invalid", err.Error())
	}
	if b.Spec.Rollout.MaxChanging < 0 {
		return r.finish(ctx, &b, st, bds.Items, nil, "Invalid", "rollout.maxChanging must be 0 (no limit) or more")
	}
	c, polled, srcErr := r.resolve(ctx, &b)
	if polled {
		if c.revision != b.Status.Revision || b.Status.LastPolled == nil {
			st.LastPolled = &metav1.Time{Time: r.now()}
		}
	}
	// The source's condition says what the last look at it found: a
	// reconcile that did not look keeps it.
	if polled || b.Spec.Git == nil || srcErr != nil {
		source := metav1.Condition{Type: "SourceReady", Status: metav1.ConditionTrue, Reason: "Fetched", Message: "revision " + c.revision}
		if srcErr != nil {
			source = metav1.Condition{Type: "SourceReady", Status: metav1.ConditionFalse, Reason: "SourceFailed", Message: bundles.TrimMessage(srcErr.Error())}
			r.log.Warn("bundle content could not be read", "bundle", b.Name, "err", srcErr)
		}
		source.ObservedGeneration = b.Generation
		meta.SetStatusCondition(&st.Conditions, source)
	}
	source := meta.FindStatusCondition(st.Conditions, "SourceReady")
	requeue := reconcile.Result{}
	if b.Spec.Git != nil {
		requeue.RequeueAfter = pollInterval(&b)
	}
	if c.secret == "" {
		_, err := r.finish(ctx, &b, st, bds.Items, nil, "SourceFailed", source.Message)
		return requeue, err
	}
	st.Revision = c.revision
	targets, refused, err := r.targets(ctx, &b, user, c)
	if err != nil {
		_, ferr := r.finish(ctx, &b, st, bds.Items, nil, "Invalid", err.Error())
		return requeue, ferr
	}
	existing := map[string]*v1.BundleDeployment{}
	for i := range bds.Items {
		existing[bds.Items[i].Spec.ClusterName] = &bds.Items[i]
	}
	p := planRollout(targets, existing, b.Spec.Rollout.MaxChanging, b.Spec.Rollout.ContinueOnFailure)
	if err := r.carryOut(ctx, &b, p, existing); err != nil {
		return reconcile.Result{}, err
	}
	r.pruneContent(ctx, &b, c.secret, bds.Items)
	message := p.summary(func(cluster string) string {
		if bd := existing[cluster]; bd != nil {
			return bd.Status.Message
		}
		return ""
	})
	if source != nil && source.Status == metav1.ConditionFalse {
		message = "the Git source failed (rolling out revision " + c.revision + "): " + source.Message
	}
	st.Paused = p.paused
	if _, err := r.finish(ctx, &b, st, bds.Items, targetsAndRefused(targets, refused), "", message); err != nil {
		return reconcile.Result{}, err
	}
	return requeue, nil
}

// creator is the Bundle's creator, who must exist and be enabled.
func (r *Reconciler) creator(ctx context.Context, b *v1.Bundle) (*v1.User, error) {
	if errs := validation.IsDNS1123Label(b.Name); len(errs) > 0 {
		return nil, fmt.Errorf("the Bundle's name must be a DNS label (lower case letters, digits and '-', at most 63): %s", errs[0])
	}
	if (b.Spec.Manifests == "") == (b.Spec.Git == nil) {
		return nil, errors.New("set exactly one of spec.manifests and spec.git")
	}
	name := b.Annotations[v1.BundleCreatorAnnotation]
	if name == "" {
		return nil, fmt.Errorf("the Bundle names no creator (annotation %s): create it with Herd's API (herdctl bundles apply), which sets it", v1.BundleCreatorAnnotation)
	}
	var u v1.User
	if err := r.client.Get(ctx, client.ObjectKey{Name: name}, &u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("the Bundle's creator %s does not exist", name)
		}
		return nil, err
	}
	if !u.Spec.Enabled {
		return nil, fmt.Errorf("the Bundle's creator %s is disabled", name)
	}
	return &u, nil
}

// targets are the clusters the Bundle goes to, with their deployment
// specs, and the clusters it selects that its creator may not reach.
func (r *Reconciler) targets(ctx context.Context, b *v1.Bundle, u *v1.User, c content) ([]target, []string, error) {
	var list v1.ClusterList
	if err := r.client.List(ctx, &list); err != nil {
		return nil, nil, err
	}
	id := &authn.Identity{UserName: u.Name, Username: u.Spec.Username, Principals: u.Spec.PrincipalIDs, Groups: u.Status.GroupPrincipals}
	var out []target
	var refused []string
	for i := range list.Items {
		cl := &list.Items[i]
		ok, err := bundles.Selects(b.Spec.Targets.ClusterNames, b.Spec.Targets.ClusterSelector, cl.Name, cl.Labels)
		if err != nil {
			return nil, nil, fmt.Errorf("targets.%w", err)
		}
		if !ok || !cl.DeletionTimestamp.IsZero() {
			continue
		}
		if !r.reach(ctx, id, cl.Name) {
			refused = append(refused, cl.Name)
			continue
		}
		spec, err := deploymentSpec(b, cl, u.Name, c)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, target{cluster: cl.Name, connected: meta.IsStatusConditionTrue(cl.Status.Conditions, v1.ClusterConnected), spec: spec})
	}
	return out, refused, nil
}

// deploymentSpec is what cluster cl is to hold of the Bundle.
func deploymentSpec(b *v1.Bundle, cl *v1.Cluster, user string, c content) (v1.BundleDeploymentSpec, error) {
	p, err := bundles.PlacementFor(&b.Spec, cl.Name, cl.Labels)
	if err != nil {
		return v1.BundleDeploymentSpec{}, err
	}
	if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
		return v1.BundleDeploymentSpec{}, fmt.Errorf("namespace %q for cluster %s: %s", p.Namespace, cl.Name, errs[0])
	}
	values, err := bundles.EncodeValues(p.Values)
	if err != nil {
		return v1.BundleDeploymentSpec{}, err
	}
	spec := v1.BundleDeploymentSpec{BundleName: b.Name, ClusterName: cl.Name, Revision: c.revision, ContentSecret: c.secret,
		Chart: c.chart, Namespace: p.Namespace, Values: values, DriftCorrection: b.Spec.DriftCorrection, User: user}
	if spec.DriftCorrection == "" {
		spec.DriftCorrection = v1.DriftCorrect
	}
	if c.chart {
		spec.ReleaseName = b.Name
		if b.Spec.Helm != nil && b.Spec.Helm.ReleaseName != "" {
			spec.ReleaseName = b.Spec.Helm.ReleaseName
		}
	}
	spec.Hash = bundles.SpecHash(spec)
	return spec, nil
}
