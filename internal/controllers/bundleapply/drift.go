package bundleapply

import (
	"context"
	"fmt"
	"reflect"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"herd.dev/herd/internal/bundles"
)

// drift says what of want the cluster no longer holds as applied: an
// object deleted, or a field someone changed. "" when nothing.
//
// The watched copy is compared first (every field the bundle set must
// hold its value); a difference is confirmed against the apiserver, and
// then with a dry-run apply, so that what the apiserver only normalizes
// (a quantity written another way) is not called drift.
func (c *Controller) drift(ctx context.Context, want []*unstructured.Unstructured) (string, error) {
	for _, o := range want {
		m, err := c.mapping(o)
		if err != nil {
			return "", err
		}
		if live, synced := c.cached(m.Resource, o.GetNamespace(), o.GetName()); synced && live != nil && subset(o.Object, live.Object) {
			continue
		}
		res := c.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return bundles.Describe(o) + " was deleted", nil
		}
		if err != nil {
			return "", err
		}
		if subset(o.Object, live.Object) {
			continue
		}
		dry, err := res.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return "", fmt.Errorf("%s: %w", bundles.Describe(o), err)
		}
		if !equality.Semantic.DeepEqual(comparable(dry), comparable(live)) {
			return bundles.Describe(o) + " was changed", nil
		}
	}
	return "", nil
}

// comparable is an object without what every write changes.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
	unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(c.Object, "metadata", "generation")
	return c.Object
}

// subset reports whether every field of want holds the same value in
// live: maps key by key, lists element by element.
func subset(want, live any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			lv, ok := l[k]
			if !ok || !subset(v, lv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], l[i]) {
				return false
			}
		}
		return true
	}
	if a, ok := number(want); ok {
		b, ok := number(live)
		return ok && a == b
	}
	return reflect.DeepEqual(want, live)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	case int32:
		return float64(n), true
	}
	return 0, false
}

// readiness reports whether every applied object is ready (kstatus: its
// controller says it reached what its spec asks), and if not, what is not.
func (c *Controller) readiness(ctx context.Context, a *applied) (bool, string) {
	if a == nil {
		return false, "nothing applied yet"
	}
	for _, o := range a.objects {
		m, err := c.mapping(o)
		if err != nil {
			return false, err.Error()
		}
		live, synced := c.cached(m.Resource, o.GetNamespace(), o.GetName())
		if !synced || live == nil {
			if live, err = c.dyn.Resource(m.Resource).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{}); err != nil {
				return false, fmt.Sprintf("%s: %v", bundles.Describe(o), err)
			}
		}
		res, err := status.Compute(live)
		if err != nil {
			return false, fmt.Sprintf("%s: %v", bundles.Describe(o), err)
		}
		if res.Status != status.CurrentStatus {
			return false, fmt.Sprintf("%s is %s: %s", bundles.Describe(o), res.Status, res.Message)
		}
	}
	return true, ""
}
