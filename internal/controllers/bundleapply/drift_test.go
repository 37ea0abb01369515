package bundleapply

import (
	"bytes"
	"strings"
	"testing"

	"herd.dev/herd/internal/bundles"
)

func TestSubset(t *testing.T) {
	live := map[string]any{
		"metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "1", "added": "by someone"}, "resourceVersion": "9"},
		"spec": map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "c", "image": "web:1", "terminationMessagePath": "/dev/termination-log"}}}}},
	}
	for _, tc := range []struct {
		name string
		want map[string]any
		ok   bool
	}{
		{"what was set holds", map[string]any{"metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "1"}},
			"spec": map[string]any{"replicas": float64(2), "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "web:1"}}}}}}, true},
		{"a changed field", map[string]any{"spec": map[string]any{"replicas": int64(3)}}, false},
		{"a changed list element", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "web:2"}}}}}}, false},
		{"a list of another length", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{}, map[string]any{}}}}}}, false},
		{"a field that is gone", map[string]any{"spec": map[string]any{"paused": true}}, false},
		{"a label that is gone", map[string]any{"metadata": map[string]any{"labels": map[string]any{"y": "2"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := subset(tc.want, live); got != tc.ok {
				t.Errorf("subset = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestLabeler(t *testing.T) {
	l := &labeler{labels: map[string]string{"bundles.herd.dev/bundle": "web"}}
	out, err := l.Run(bytes.NewBufferString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := bundles.Parse(out.Bytes())
	if err != nil || len(objs) != 2 {
		t.Fatalf("%d objects, %v:\n%s", len(objs), err, out)
	}
	for _, o := range objs {
		if o.GetLabels()["bundles.herd.dev/bundle"] != "web" {
			t.Errorf("%s has labels %v", o.GetName(), o.GetLabels())
		}
	}
	if objs[0].GetLabels()["app"] != "web" {
		t.Error("the chart's own label was lost")
	}
	if _, err := l.Run(bytes.NewBufferString("kind: [")); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("a broken render: %v", err)
	}
}
