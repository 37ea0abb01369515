package bundles

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

func TestPackUnpack(t *testing.T) {
	files := map[string][]byte{"Chart.yaml": []byte("name: x\n"), "templates/a.yaml": []byte("kind: A\n")}
	a, err := Pack(files)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Pack(files)
	if string(a) != string(b) {
		t.Error("Pack is not the same bytes for the same files")
	}
	got, err := Unpack(a)
	if err != nil || !reflect.DeepEqual(got, files) {
		t.Errorf("Unpack = %q %v, want %q", got, err, files)
	}
	if Digest(files) == Digest(map[string][]byte{"Chart.yaml": []byte("name: y\n"), "templates/a.yaml": []byte("kind: A\n")}) {
		t.Error("different files have the same digest")
	}
	if !IsChart(files) || IsChart(map[string][]byte{"a.yaml": nil}) {
		t.Error("IsChart is wrong")
	}
	big := map[string][]byte{}
	noise := make([]byte, MaxPacked+1)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(noise)
	big["x"] = noise
	if _, err := Pack(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Pack of %d incompressible bytes: %v, want ErrTooLarge", len(noise), err)
	}
}

func TestManifests(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      int
		err       string
	}{
		{"two documents and an empty one", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", 2, ""},
		{"a list", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}]}`, 1, ""},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", 0, "document 1: apiVersion and kind are required"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n", 0, "metadata.name is required"},
		{"bad namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: Bad_NS}\n", 0, "is not a valid name"},
		{"not yaml", "apiVersion: v1\nkind: [\n", 0, "document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Manifests(map[string][]byte{"m.yaml": []byte(tc.doc), "README.md": []byte("not read")})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "m.yaml") {
					t.Errorf("err = %v, want one naming m.yaml with %q", err, tc.err)
				}
				return
			}
			if err != nil || len(objs) != tc.want {
				t.Errorf("got %d objects, %v; want %d", len(objs), err, tc.want)
			}
		})
	}
}

func TestPlacement(t *testing.T) {
	spec := &v1.BundleSpec{
		Namespace: "web",
		Helm:      &v1.BundleHelm{Values: &apiextensionsv1.JSON{Raw: []byte(`{"replicas":1,"image":{"tag":"1.0","pull":"Always"}}`)}},
		Targets: v1.BundleTargets{Overrides: []v1.BundleOverride{
			{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, Values: &apiextensionsv1.JSON{Raw: []byte(`{"replicas":3,"image":{"tag":"1.1"}}`)}},
			{ClusterNames: []string{"p2"}, Namespace: "web-p2"},
		}},
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		ns     string
		values map[string]any
	}{
		{"dev", map[string]string{"env": "dev"}, "web", map[string]any{"replicas": float64(1), "image": map[string]any{"tag": "1.0", "pull": "Always"}}},
		{"p1", map[string]string{"env": "prod"}, "web", map[string]any{"replicas": float64(3), "image": map[string]any{"tag": "1.1", "pull": "Always"}}},
		{"p2", map[string]string{"env": "prod"}, "web-p2", map[string]any{"replicas": float64(3), "image": map[string]any{"tag": "1.1", "pull": "Always"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlacementFor(spec, tc.name, tc.labels)
			if err != nil || p.Namespace != tc.ns || !reflect.DeepEqual(p.Values, tc.values) {
				t.Errorf("got %s %v %v, want %s %v", p.Namespace, p.Values, err, tc.ns, tc.values)
			}
		})
	}
	if ok, _ := Selects(nil, nil, "a", nil); ok {
		t.Error("no names and no selector selected a cluster")
	}
	if ok, _ := Selects(nil, &metav1.LabelSelector{}, "a", nil); !ok {
		t.Error("{} did not select every cluster")
	}
	if _, err := Selects(nil, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bad"}}}, "a", nil); err == nil {
		t.Error("a bad selector was accepted")
	}
	a := v1.BundleDeploymentSpec{BundleName: "b", Revision: "r1"}
	b := a
	b.Revision = "r2"
	if SpecHash(a) == SpecHash(b) || SpecHash(a) != SpecHash(a) {
		t.Error("SpecHash does not tell revisions apart, or is not stable")
	}
}
