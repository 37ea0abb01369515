// Package bundleapply is the per-cluster side of bundles: for each
// BundleDeployment of its cluster it applies the content the deployment
// names (manifests with server-side apply, a chart with Helm, so `helm
// list` shows the release) with the rights of the Bundle's creator,
// watches what it applied, puts back what someone changes or deletes (or
// only reports it), reports readiness, and removes everything when the
// deployment goes. It runs beside the cluster's other controllers, on the
// replica that owns the cluster.
package bundleapply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// FieldManager is the server-side apply manager of bundle objects.
const FieldManager = "herd-bundles"

// Config configures a Controller.
type Config struct {
	// Cluster is the Herd cluster. Required.
	Cluster string
	// Client writes BundleDeployment status to the management cluster;
	// Cache lists them; API reads content Secrets. Required.
	Client client.Client
	Cache  client.Reader
	API    client.Reader
	// Agent reaches the cluster with the agent's credential: it watches
	// and reads what bundles applied, and removes it. Required.
	Agent *rest.Config
	// AsUser returns a config that acts in the cluster as the Herd user:
	// content is applied with it. Required.
	AsUser func(ctx context.Context, user string) (*rest.Config, error)
	// Namespace holds the content Secrets; "": herd-system.
	Namespace string
	// Resync is how often every deployment is looked at without a
	// trigger; 0: 5 minutes.
	Resync time.Duration
	// Logger; nil: discard. Now; nil: time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Validate checks the required fields.
func (c Config) Validate() error {
	if c.Cluster == "" || c.Client == nil || c.Cache == nil || c.API == nil || c.Agent == nil || c.AsUser == nil {
		return errors.New("bundleapply: Cluster, Client, Cache, API, Agent and AsUser are required")
	}
	return nil
}

// Controller applies one cluster's bundle deployments.
type Controller struct {
	cfg   Config
	log   *slog.Logger
	queue workqueue.TypedRateLimitingInterface[string]
	dyn   dynamic.Interface
	// disc and mapper read the cluster's discovery once (the agent's
	// view) for this controller and for Helm.
	disc   discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper

	mu        sync.Mutex
	ctx       context.Context
	informers dynamicinformer.DynamicSharedInformerFactory
	watched   map[schema.GroupVersionResource]cache.SharedIndexInformer
	// desired is, per deployment, what it last applied (its objects as
	// sent), to compare the cluster against.
	desired map[string]*applied
	content contentCache
}

// applied is what a deployment last applied.
type applied struct {
	hash    string
	objects []*unstructured.Unstructured
}

// New builds a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "herd-system"
	}
	if cfg.Resync == 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dyn, err := dynamic.NewForConfig(cfg.Agent)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg.Agent)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(disc)
	c := &Controller{cfg: cfg, log: cfg.Logger, dyn: dyn, disc: cached,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 2*time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "bundles-" + cfg.Cluster}),
		watched: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		desired: map[string]*applied{},
	}
	c.informers = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 10*time.Minute, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = v1.BundleClusterLabel + "=" + cfg.Cluster })
	return c, nil
}

// Trigger asks for a sync of one deployment.
func (c *Controller) Trigger(deployment string) { c.queue.Add(deployment) }

// Run syncs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	defer c.informers.Shutdown()
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	c.triggerAll(ctx)
	go func() {
		t := time.NewTicker(c.cfg.Resync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.triggerAll(ctx)
			}
		}
	}()
	for c.next(ctx) {
	}
	return nil
}

func (c *Controller) triggerAll(ctx context.Context) {
	var list v1.BundleDeploymentList
	if err := c.cfg.Cache.List(ctx, &list, client.MatchingLabels{v1.BundleClusterLabel: c.cfg.Cluster}); err != nil {
		c.log.Warn("failed to list bundle deployments", "err", err)
		return
	}
	for _, bd := range list.Items {
		c.queue.Add(bd.Name)
	}
}

func (c *Controller) next(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	retry, err := c.sync(ctx, key)
	switch {
	case err != nil && ctx.Err() == nil:
		c.log.Warn("failed to sync a bundle deployment", "deployment", key, "err", err)
		c.queue.AddRateLimited(key)
	case retry > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, retry)
	default:
		c.queue.Forget(key)
	}
	return true
}

// watch makes sure objects of gvr with the cluster's label are watched:
// their changes trigger their deployment's sync.
func (c *Controller) watch(gvr schema.GroupVersionResource) cache.SharedIndexInformer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if inf, ok := c.watched[gvr]; ok {
		return inf
	}
	inf := c.informers.ForResource(gvr).Informer()
	trigger := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if u, ok := obj.(*unstructured.Unstructured); ok {
			if name := u.GetLabels()[v1.BundleDeploymentLabel]; name != "" {
				c.queue.Add(name)
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: trigger, UpdateFunc: func(_, cur any) { trigger(cur) }, DeleteFunc: trigger,
	}); err != nil {
		c.log.Warn("failed to watch bundle objects", "resource", gvr.String(), "err", err)
	}
	c.watched[gvr] = inf
	if c.ctx != nil {
		c.informers.Start(c.ctx.Done())
	}
	return inf
}

// cached is the watched copy of an object, if its informer has synced.
func (c *Controller) cached(gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, bool) {
	inf := c.watch(gvr)
	if !inf.HasSynced() {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, true
	}
	u, _ := obj.(*unstructured.Unstructured)
	return u, true
}

// errorf is a deployment's failure as its status says it.
func errorf(format string, args ...any) error { return &failure{msg: fmt.Sprintf(format, args...)} }

// failure is an error of the content or of the user's rights: the
// deployment reports it and is not retried until it changes.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }
