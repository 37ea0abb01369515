package server

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// leaderElectionID names the Lease that the controllers' leader holds.
const leaderElectionID = "herd-server"

// newManager builds the controller-runtime manager: the informer cache
// every replica reads from, and leader election for the controllers.
func (s *Server) newManager(ctx context.Context) (manager.Manager, error) {
	scheme, err := store.Scheme()
	if err != nil {
		return nil, err
	}
	lease := s.cfg.LeaseDuration
	renew := lease * 2 / 3
	retry := lease / 5
	mgr, err := manager.New(s.rest, manager.Options{
		Scheme:                        scheme,
		Logger:                        logr.FromSlogHandler(s.cfg.Logger.Handler()),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		LeaderElection:                true,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       wellknown.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &lease,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		// Secrets (password hashes) are read on demand, never cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// Nothing reads managedFields from the cache; with 10,000
		// Clusters, each written by several field managers, they would
		// be most of what it holds.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to set up the controller manager: %w", err)
	}
	if err := index.Add(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	return mgr, nil
}

// startCache starts informers for the store's watched types and waits for them to sync.
func startCache(ctx context.Context, mgr manager.Manager) error {
	for _, obj := range store.Watched() {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("failed to watch %T: %w", obj, err)
		}
	}
	syncCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		return fmt.Errorf("the management cluster cache did not sync")
	}
	return nil
}

// ensureNamespace creates Herd's namespace in the management cluster.
func ensureNamespace(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wellknown.Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", wellknown.Namespace, err)
	}
	return nil
}
