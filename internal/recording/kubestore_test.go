package recording

import (
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
)

// TestKubeStore writes a session in chunks, reads it back in order,
// finishes it, and sweeps it once it is older than the retention, with
// its chunks; a newer session stays.
func TestKubeStore(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1.AddToScheme(scheme)
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.ExecSession{}).Build()
	k := &KubeStore{Client: c, Reader: c, Replica: "r1"}
	ctx := t.Context()
	old, recent := time.Now().Add(-48*time.Hour), time.Now()
	info := Info{User: "u-1", Cluster: "east", Namespace: "ns", Pod: "p", Kind: "exec", Command: []string{"sh"}}
	for name, at := range map[string]time.Time{"old": old, "new": recent} {
		if err := k.Create(ctx, name, info, true, at); err != nil {
			t.Fatal(err)
		}
		for i, data := range []string{"{\"version\":2}\n[0.1,\"o\",\"a\"]\n", "[0.2,\"o\",\"b\"]\n", "[0.3,\"o\",\"c\"]\n"} {
			if err := k.WriteChunk(ctx, name, i, []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.WriteChunk(ctx, name, 1, []byte("[0.2,\"o\",\"B\"]\n")); err != nil { // a chunk written again as it grows
			t.Fatal(err)
		}
	}
	r, err := k.Open(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	_, evs, err := ReadAll(r)
	if err != nil || len(evs) != 3 || evs[0].Data+evs[1].Data+evs[2].Data != "aBc" {
		t.Fatalf("read back %+v, %v", evs, err)
	}
	if err := k.Finish(ctx, "new", Summary{Ended: recent, Chunks: 3, Bytes: 42}); err != nil {
		t.Fatal(err)
	}
	var es v1.ExecSession
	if err := c.Get(ctx, client.ObjectKey{Name: "new"}, &es); err != nil || es.Status.Phase != v1.SessionEnded || es.Status.Bytes != 42 ||
		es.Labels[UserLabel] != "u-1" || es.Spec.Replica != "r1" || !es.Spec.Input {
		t.Fatalf("record %+v, %v", es, err)
	}
	n, err := k.Sweep(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	var secrets corev1.SecretList
	_ = c.List(ctx, &secrets, client.InNamespace(Namespace))
	for _, s := range secrets.Items {
		if s.Labels[sessionLabel] == "old" {
			t.Errorf("chunk %s outlived its session", s.Name)
		}
	}
	if len(secrets.Items) != 3 {
		t.Errorf("%d chunks left, want the new session's 3", len(secrets.Items))
	}
	if r, _ := k.Open(ctx, "old"); r != nil {
		if b, _ := io.ReadAll(r); len(b) != 0 {
			t.Errorf("the swept session still reads %q", b)
		}
	}
}
