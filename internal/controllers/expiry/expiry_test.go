package expiry_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/controllers/expiry"
)

// TestReconcile checks what the reconciler deletes and when it asks to be
// called again. A fake client is enough for this unit; the server's tests
// run the controller on a real management cluster.
func TestReconcile(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	token := func(name string, expires time.Time) *v1.Token {
		return &v1.Token{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.TokenSpec{ExpiresAt: metav1.NewTime(expires)}}
	}
	tests := []struct {
		name        string
		expires     time.Time
		wantDeleted bool
		wantRequeue time.Duration
	}{
		{"valid", now.Add(2 * time.Hour), false, 3 * time.Hour},
		{"expired within retention", now.Add(-30 * time.Minute), false, 30 * time.Minute},
		{"expired past retention", now.Add(-2 * time.Hour), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			if err := v1.AddToScheme(scheme); err != nil {
				t.Fatal(err)
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(token("t-x", tt.expires)).Build()
			r := &expiry.Reconciler{
				Client: c, NewObject: func() client.Object { return &v1.Token{} },
				ExpiresAt: func(o client.Object) (time.Time, bool) { return o.(*v1.Token).Spec.ExpiresAt.Time, true },
				Retention: time.Hour, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler),
			}
			res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: "t-x"}})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Get(context.Background(), client.ObjectKey{Name: "t-x"}, &v1.Token{})
			if deleted := apierrors.IsNotFound(err); deleted != tt.wantDeleted {
				t.Errorf("deleted: got %v, want %v (get: %v)", deleted, tt.wantDeleted, err)
			}
			if res.RequeueAfter != tt.wantRequeue {
				t.Errorf("requeue after: got %v, want %v", res.RequeueAfter, tt.wantRequeue)
			}
		})
	}
}
