package hosted

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/clustercond"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/sweep"
)

// Options configure the controller.
type Options struct {
	// Local is the "local" provider; nil: such clusters wait, saying so.
	Local Provider
	// ServerURL and CAChecksum are what the import manifest's agents dial
	// and pin (read when needed).
	ServerURL, CAChecksum func() string
	// AgentImage is the import manifest's image. Empty: the default.
	AgentImage string
	// IssueRegistrationToken makes a registration token of a cluster
	// (clusters.Registrar.IssueRegistrationToken).
	IssueRegistrationToken func(ctx context.Context, c *v1.Cluster) (string, *v1.ClusterRegistrationToken, error)
	// RemoveCleanupFinalizer lets a deleted Cluster go once its hosted
	// cluster is deleted: there is nothing left to clean up in it
	// (clusters.Manager.RemoveCleanupFinalizer).
	RemoveCleanupFinalizer func(ctx context.Context, c *v1.Cluster) error
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// fieldOwner owns the hosted clusters' Provisioned condition.
const fieldOwner = "herd-hosted"

// reimport is how long an import stays unconnected before it is applied
// again with a new registration token (the first one may have expired, or
// the provider's cluster may have been replaced).
const reimport = 3 * time.Minute

// Setup registers the controller with mgr, and a sweep at start of the
// provider's clusters whose Cluster is gone.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &reconciler{c: mgr.GetClient(), opts: opts, log: opts.Logger.With("controller", "hosted"), imported: map[string]time.Time{}}
	skip := true
	if err := ctrl.NewControllerManagedBy(mgr).Named("hosted").For(&v1.Cluster{}).
		WithOptions(controller.Options{SkipNameValidation: &skip, MaxConcurrentReconciles: 2}).Complete(r); err != nil {
		return err
	}
	if opts.Local == nil {
		return nil
	}
	return mgr.Add(sweep.Runnable(r.opts.Local.List, r, r.log))
}

type reconciler struct {
	c    client.Client
	opts Options
	log  *slog.Logger
	mu   sync.Mutex
	// imported: when the manifest was last applied, per cluster UID.
	imported map[string]time.Time
}

// Reconcile makes, imports or deletes one hosted cluster.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if r.opts.Local == nil {
		return reconcile.Result{}, nil
	}
	var c v1.Cluster
	if err := r.c.Get(ctx, req.NamespacedName, &c); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, err
	}
	if c.UID == "" || c.Spec.Hosted == nil {
		return reconcile.Result{}, r.deleteHosted(ctx, req.Name)
	}
	if !c.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.letGo(ctx, &c)
	}
	h := c.Spec.Hosted
	if h.Provider != v1.HostedLocal {
		return reconcile.Result{}, r.condition(ctx, &c, false, "UnknownProvider", fmt.Sprintf("hosted provider %q is unknown; the one there is: local", h.Provider))
	}
	if err := r.opts.Local.Upgrade(ctx, c.Name, h.KubernetesVersion); errors.Is(err, ErrUnsupported) {
		return reconcile.Result{}, r.condition(ctx, &c, false, "Unsupported", err.Error())
	}
	if cond := meta.FindStatusCondition(c.Status.Conditions, v1.ClusterProvisioned); cond == nil {
		_ = r.condition(ctx, &c, false, "Creating", "the local provider is making the cluster")
	}
	kubeconfig, err := r.opts.Local.Ensure(ctx, c.Name, string(c.UID), *h)
	if err != nil {
		r.log.Error("hosted cluster not made", "cluster", c.Name, "err", err)
		return reconcile.Result{RequeueAfter: 30 * time.Second}, r.condition(ctx, &c, false, "ProviderFailed", "the provider failed to make the cluster; Herd tries again (see the server's log)")
	}
	return r.importStage(ctx, &c, kubeconfig)
}

// letGo deletes a deleted Cluster's hosted cluster and then lets the
// Cluster go: there is nothing left to clean up in it.
func (r *reconciler) letGo(ctx context.Context, c *v1.Cluster) error {
	if err := r.deleteHosted(ctx, c.Name); err != nil {
		return err
	}
	if r.opts.RemoveCleanupFinalizer == nil {
		return nil
	}
	return r.opts.RemoveCleanupFinalizer(ctx, c)
}

// importStage applies the import manifest to a running hosted cluster
// until its agents connect, again after reimport without them.
func (r *reconciler) importStage(ctx context.Context, c *v1.Cluster, kubeconfig []byte) (reconcile.Result, error) {
	if meta.IsStatusConditionTrue(c.Status.Conditions, v1.ClusterConnected) {
		return reconcile.Result{RequeueAfter: time.Minute}, r.condition(ctx, c, true, "Imported", "the provider's cluster runs and its agents are connected")
	}
	r.mu.Lock()
	last, ok := r.imported[string(c.UID)]
	r.mu.Unlock()
	if ok && time.Since(last) < reimport {
		return reconcile.Result{RequeueAfter: 10 * time.Second}, r.condition(ctx, c, false, "Importing", "the import manifest is applied; waiting for the agents to connect")
	}
	if err := r.importInto(ctx, c, kubeconfig); err != nil {
		r.log.Error("hosted cluster not imported", "cluster", c.Name, "err", err)
		return reconcile.Result{RequeueAfter: 30 * time.Second}, r.condition(ctx, c, false, "ImportFailed", "applying the import manifest failed; Herd tries again (see the server's log)")
	}
	r.mu.Lock()
	r.imported[string(c.UID)] = time.Now()
	r.mu.Unlock()
	r.log.Info("import manifest applied to the hosted cluster", "cluster", c.Name)
	return reconcile.Result{RequeueAfter: 10 * time.Second}, r.condition(ctx, c, false, "Importing", "the import manifest is applied; waiting for the agents to connect")
}

// importInto applies the cluster's import manifest, with a new
// registration token, to the provider's cluster.
func (r *reconciler) importInto(ctx context.Context, c *v1.Cluster, kubeconfig []byte) error {
	token, _, err := r.opts.IssueRegistrationToken(ctx, c)
	if err != nil {
		return err
	}
	manifest, err := importmanifest.Render(importmanifest.Params{ServerURL: r.opts.ServerURL(), Token: token, CAChecksum: r.opts.CAChecksum(),
		ClusterName: c.Name, ClusterUID: string(c.UID), Image: r.opts.AgentImage})
	if err != nil {
		return err
	}
	return apply(ctx, kubeconfig, manifest)
}

// deleteHosted deletes the provider's cluster of a Cluster that is gone,
// going, or no longer hosted.
func (r *reconciler) deleteHosted(ctx context.Context, name string) error {
	names, err := r.opts.Local.List(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == name {
			r.log.Info("deleting the hosted cluster of a deleted Cluster", "cluster", name)
			return r.opts.Local.Delete(ctx, name)
		}
	}
	return nil
}

func (r *reconciler) condition(ctx context.Context, c *v1.Cluster, ok bool, reason, message string) error {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return clustercond.Set(ctx, r.c, c, fieldOwner, metav1.Condition{Type: v1.ClusterProvisioned, Status: status, Reason: reason, Message: message})
}
