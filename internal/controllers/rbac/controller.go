// Package rbac keeps one downstream cluster's RBAC at the state Herd's
// management objects describe: each RoleTemplate a ClusterRole, each
// ClusterRoleTemplateBinding a ClusterRoleBinding, each
// ProjectRoleTemplateBinding a RoleBinding in every namespace of its
// project. It watches what it made downstream and puts back what someone
// deletes or edits, and it deletes what no binding asks for any more. It
// touches only objects that carry its SourceLabel.
package rbac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	v1 "herd.dev/herd/api/v1"
)

// Source is where the controller reads the management state of its cluster.
type Source interface {
	Input(ctx context.Context, cluster string) (Input, error)
}

// Config configures a Controller.
type Config struct {
	// Cluster is the Herd cluster name. Required.
	Cluster string
	// Kube reaches the downstream cluster with a credential that may manage RBAC. Required.
	Kube kubernetes.Interface
	// Source supplies the management objects. Required.
	Source Source
	// Report, if set, is called after every sync with its outcome and the
	// namespaces of each project.
	Report func(ctx context.Context, cluster string, result Result)
	// Logger; nil: discard.
	Logger *slog.Logger
	// Resync is how often a full sync runs without a trigger; 0: 10 minutes.
	Resync time.Duration
}

// Result is the outcome of one sync.
type Result struct {
	// Err is nil when the cluster holds everything it should.
	Err error
	// Problems are management objects that could not be applied, with why.
	Problems map[string]error
	// Namespaces maps each project to its namespaces.
	Namespaces map[string][]string
	// Changes counts the writes the sync made.
	Changes int
}

// Validate checks the required fields.
func (c Config) Validate() error {
	switch {
	case c.Cluster == "":
		return errors.New("rbac: Cluster is required")
	case c.Kube == nil:
		return errors.New("rbac: Kube is required")
	case c.Source == nil:
		return errors.New("rbac: Source is required")
	}
	return nil
}

// Controller syncs one cluster.
type Controller struct {
	cfg     Config
	queue   workqueue.TypedRateLimitingInterface[string]
	owned   informers.SharedInformerFactory // objects with SourceLabel
	inProj  informers.SharedInformerFactory // namespaces with the project label
	listers listers
}

// New builds a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resync == 0 {
		cfg.Resync = 10 * time.Minute
	}
	selector := func(label string) informers.SharedInformerOption {
		req, _ := labels.NewRequirement(label, selection.Exists, nil)
		sel := labels.NewSelector().Add(*req).String()
		return informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel })
	}
	c := &Controller{
		cfg: cfg,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "rbac-" + cfg.Cluster}),
		owned:  informers.NewSharedInformerFactoryWithOptions(cfg.Kube, cfg.Resync, selector(SourceLabel)),
		inProj: informers.NewSharedInformerFactoryWithOptions(cfg.Kube, cfg.Resync, selector(v1.ProjectNamespaceLabel)),
	}
	c.listers = listers{
		roles:        c.owned.Rbac().V1().ClusterRoles().Lister(),
		bindings:     c.owned.Rbac().V1().ClusterRoleBindings().Lister(),
		roleBindings: c.owned.Rbac().V1().RoleBindings().Lister(),
		namespaces:   c.inProj.Core().V1().Namespaces().Lister(),
	}
	trigger := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.Trigger() },
		UpdateFunc: func(any, any) { c.Trigger() },
		DeleteFunc: func(any) { c.Trigger() },
	}
	for _, inf := range []cache.SharedIndexInformer{
		c.owned.Rbac().V1().ClusterRoles().Informer(), c.owned.Rbac().V1().ClusterRoleBindings().Informer(),
		c.owned.Rbac().V1().RoleBindings().Informer(), c.inProj.Core().V1().Namespaces().Informer(),
	} {
		if _, err := inf.AddEventHandler(trigger); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Trigger asks for a sync; triggers that arrive during one are folded into
// the next.
func (c *Controller) Trigger() { c.queue.Add(c.cfg.Cluster) }

// Run syncs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.owned.Start(ctx.Done())
	c.inProj.Start(ctx.Done())
	defer c.owned.Shutdown()
	defer c.inProj.Shutdown()
	for typ, ok := range c.owned.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("rbac: cluster %s: %v did not sync", c.cfg.Cluster, typ)
		}
	}
	for typ, ok := range c.inProj.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("rbac: cluster %s: %v did not sync", c.cfg.Cluster, typ)
		}
	}
	c.Trigger()
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for c.next(ctx) {
	}
	return nil
}

func (c *Controller) next(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	result := c.sync(ctx)
	if c.cfg.Report != nil {
		c.cfg.Report(ctx, c.cfg.Cluster, result)
	}
	if result.Err != nil && ctx.Err() == nil {
		c.cfg.Logger.Warn("failed to sync cluster RBAC", "cluster", c.cfg.Cluster, "err", result.Err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	c.queue.AddAfter(key, c.cfg.Resync)
	return true
}
