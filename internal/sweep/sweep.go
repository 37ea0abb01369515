// Package sweep runs a controller once over what it holds outside the
// management cluster (machines, hosted clusters), at start: what belongs
// to Clusters deleted while the server was down gets no event otherwise.
package sweep

import (
	"context"
	"log/slog"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Runnable lists the cluster names that the controller holds things of,
// once the manager starts, and reconciles each once with r; failures are
// logged (the controller's own events go on either way).
func Runnable(list func(context.Context) ([]string, error), r reconcile.Reconciler, log *slog.Logger) manager.RunnableFunc {
	return func(ctx context.Context) error {
		names, err := list(ctx)
		if err != nil {
			log.Error("sweep: cannot list what the controller holds", "err", err)
			return nil
		}
		for _, name := range names {
			if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Name: name}}); err != nil {
				log.Error("sweep: cannot reconcile", "cluster", name, "err", err)
			}
		}
		return nil
	}
}
