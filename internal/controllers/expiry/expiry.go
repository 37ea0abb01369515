// Package expiry deletes Tokens, ClusterRegistrationTokens and
// ClusterAgentTokens some time after they expire (or, for tokens, are
// revoked), so that the management cluster does not fill up with dead
// credentials. It runs on the leader only.
package expiry

import (
	"context"
	"log/slog"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
)

// Options configure the controllers. Zero values are documented per field.
type Options struct {
	// Retention is how long an expired object is kept (so users can still
	// see why a token stopped working). Zero: one hour.
	Retention time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger; nil: discard.
	Logger *slog.Logger
}

// Reconciler deletes one kind of expiring object once it has been expired
// for the retention period.
type Reconciler struct {
	Client    client.Client
	NewObject func() client.Object
	// ExpiresAt returns the object's expiry, false if it never expires.
	ExpiresAt func(client.Object) (time.Time, bool)
	Retention time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// Reconcile deletes req's object if it is past expiry plus retention, and
// otherwise asks to be called again then.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := r.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	at, ok := r.ExpiresAt(obj)
	if !ok {
		return reconcile.Result{}, nil
	}
	if wait := at.Add(r.Retention).Sub(r.Now()); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	uid := obj.GetUID()
	if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	r.Logger.Info("deleted expired object", "kind", kindOf(obj), "name", obj.GetName(), "expiredAt", at)
	return reconcile.Result{}, nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1.Token:
		return "Token"
	case *v1.ClusterRegistrationToken:
		return "ClusterRegistrationToken"
	case *v1.ClusterAgentToken:
		return "ClusterAgentToken"
	}
	return "unknown"
}

// Setup registers the Token and ClusterRegistrationToken reconcilers.
func Setup(mgr manager.Manager, opts Options) error {
	if opts.Retention == 0 {
		opts.Retention = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kinds := []struct {
		name      string
		obj       func() client.Object
		expiresAt func(client.Object) (time.Time, bool)
	}{
		{"token-expiry", func() client.Object { return &v1.Token{} }, func(o client.Object) (time.Time, bool) {
			return o.(*v1.Token).Spec.ExpiresAt.Time, true
		}},
		{"registration-token-expiry", func() client.Object { return &v1.ClusterRegistrationToken{} }, func(o client.Object) (time.Time, bool) {
			at := o.(*v1.ClusterRegistrationToken).Spec.ExpiresAt
			if at == nil {
				return time.Time{}, false
			}
			return at.Time, true
		}},
		{"agent-token-expiry", func() client.Object { return &v1.ClusterAgentToken{} }, func(o client.Object) (time.Time, bool) {
			at := o.(*v1.ClusterAgentToken).Spec.ExpiresAt
			if at == nil {
				return time.Time{}, false
			}
			return at.Time, true
		}},
	}
	for _, k := range kinds {
		r := &Reconciler{Client: mgr.GetClient(), NewObject: k.obj, ExpiresAt: k.expiresAt,
			Retention: opts.Retention, Now: opts.Now, Logger: opts.Logger}
		// Several servers may run in one process (tests); names stay unique per manager.
		skip := true
		err := builder.ControllerManagedBy(mgr).Named(k.name).For(k.obj()).
			WithOptions(controller.Options{SkipNameValidation: &skip}).Complete(r)
		if err != nil {
			return err
		}
	}
	return nil
}
