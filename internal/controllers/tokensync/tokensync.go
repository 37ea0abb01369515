// Package tokensync keeps one downstream cluster's token copies (see
// package tokencopy) equal to the Herd tokens scoped to that cluster: a
// token made, revoked or expired, or its user disabled or regrouped,
// reaches the cluster's kube-api-auth within seconds while the cluster is
// connected. It touches only Secrets labelled as copies of its cluster.
package tokensync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

// Source lists the copies a cluster should hold.
type Source interface {
	Copies(ctx context.Context, cluster string) ([]tokencopy.Copy, error)
}

// Config configures a Controller.
type Config struct {
	// Cluster is the Herd cluster name. Required.
	Cluster string
	// Kube reaches the downstream cluster. Required.
	Kube kubernetes.Interface
	// Source supplies the desired copies. Required.
	Source Source
	// Logger; nil: discard.
	Logger *slog.Logger
	// Resync: a full sync at least this often. Zero: 10 minutes.
	Resync time.Duration
}

// Controller syncs one cluster's copies.
type Controller struct {
	cfg     Config
	queue   workqueue.TypedRateLimitingInterface[string]
	factory informers.SharedInformerFactory
	lister  corelisters.SecretLister
	nsReady bool // the copies' namespace exists (sync runs in one goroutine)
}

// New builds a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Cluster == "" || cfg.Kube == nil || cfg.Source == nil {
		return nil, errors.New("tokensync: Cluster, Kube and Source are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resync == 0 {
		cfg.Resync = 10 * time.Minute
	}
	sel := labels.SelectorFromSet(labels.Set{tokencopy.Label: cfg.Cluster}).String()
	c := &Controller{cfg: cfg,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "tokensync-" + cfg.Cluster}),
		factory: informers.NewSharedInformerFactoryWithOptions(cfg.Kube, cfg.Resync, informers.WithNamespace(wellknown.TokenCopiesNamespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel })),
	}
	inf := c.factory.Core().V1().Secrets()
	c.lister = inf.Lister()
	trigger := func(any) { c.Trigger() }
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: trigger, UpdateFunc: func(any, any) { c.Trigger() }, DeleteFunc: trigger,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Trigger asks for a sync.
func (c *Controller) Trigger() { c.queue.Add(c.cfg.Cluster) }

// Run syncs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	for typ, ok := range c.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("tokensync: cluster %s: %v did not sync", c.cfg.Cluster, typ)
		}
	}
	c.Trigger()
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		key, shutdown := c.queue.Get()
		if shutdown {
			return nil
		}
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("failed to sync token copies", "cluster", c.cfg.Cluster, "err", err)
			c.queue.AddRateLimited(key)
		} else {
			c.queue.Forget(key)
			c.queue.AddAfter(key, c.cfg.Resync)
		}
		c.queue.Done(key)
	}
}

// sync writes the differences between the desired and present copies.
func (c *Controller) sync(ctx context.Context) error {
	want, err := c.cfg.Source.Copies(ctx, c.cfg.Cluster)
	if err != nil {
		return err
	}
	if len(want) > 0 && !c.nsReady {
		// Clusters imported with an older manifest lack the namespace.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wellknown.TokenCopiesNamespace, Labels: map[string]string{wellknown.ManagedByLabel: wellknown.ManagedBy}}}
		if _, err := c.cfg.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create namespace %s: %w", wellknown.TokenCopiesNamespace, err)
		}
		c.nsReady = true
	}
	api := c.cfg.Kube.CoreV1().Secrets(wellknown.TokenCopiesNamespace)
	var errs []error
	keep := map[string]bool{}
	for _, cp := range want {
		s := cp.Secret()
		keep[s.Name] = true
		have, err := c.lister.Secrets(wellknown.TokenCopiesNamespace).Get(s.Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err = api.Create(ctx, s, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				err = fmt.Errorf("secret %s exists but is not this cluster's token copy, or not yet seen", s.Name)
			}
		case err == nil && !sameData(have, s):
			upd := have.DeepCopy()
			upd.Data, upd.Labels = s.Data, s.Labels
			_, err = api.Update(ctx, upd, metav1.UpdateOptions{})
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	present, err := c.lister.Secrets(wellknown.TokenCopiesNamespace).List(labels.Everything())
	if err != nil {
		return err
	}
	for _, s := range present {
		if !keep[s.Name] {
			if err := api.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func sameData(a, b *corev1.Secret) bool {
	if len(a.Data) != len(b.Data) || a.Labels[tokencopy.Label] != b.Labels[tokencopy.Label] {
		return false
	}
	for k, v := range b.Data {
		if !bytes.Equal(a.Data[k], v) {
			return false
		}
	}
	return true
}
