package kubeapiauth

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/tokencopy"
)

func TestMain(m *testing.M) {
	// The fake clientset's watchers panic when more than DefaultChanSize
	// events wait; the concurrency test writes faster than an informer
	// under the race detector reads.
	watch.DefaultChanSize = 100_000
	os.Exit(m.Run())
}

const testCluster = "c-test"

// testNow is the injected clock.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newCopy returns the copy of a fresh token named name, changed by mod,
// and the token itself.
func newCopy(name string, mod func(*tokencopy.Copy)) (tokencopy.Copy, string) {
	secret := herdtoken.NewSecret()
	c := tokencopy.Copy{TokenName: name, Hash: herdtoken.Hash(secret), UserName: "u-" + name, Username: name + "-login",
		Groups: []string{"github_team://1", "github_team://2"}, ExpiresAt: testNow.Add(time.Hour), Enabled: true, Cluster: testCluster}
	if mod != nil {
		mod(&c)
	}
	return c, herdtoken.Format(name, secret)
}

// harness is a Server on a fake clientset, with its informer running.
type harness struct {
	*Server
	kube *fake.Clientset
	logs *herdtest.SyncBuffer
}

// newHarness starts a Server over objects; synced waits for the initial
// list, which a test of the unsynced server leaves out.
func newHarness(t testing.TB, synced bool, objects ...runtime.Object) *harness {
	t.Helper()
	h := &harness{kube: fake.NewClientset(objects...), logs: &herdtest.SyncBuffer{}}
	// Tests log at debug, benchmarks at info as in production.
	var out io.Writer = h.logs
	level := slog.LevelInfo
	if tt, ok := t.(*testing.T); ok {
		out, level = io.MultiWriter(h.logs, tt.Output()), slog.LevelDebug
	}
	s, err := New(Config{Kube: h.kube, Cluster: testCluster, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		t.Fatal(err)
	}
	h.Server = s
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); s.factory.Shutdown() })
	s.start(ctx)
	if synced {
		eventually(t, "informer synced", s.synced)
	}
	return h
}

// review asks h about token and fails the test on an error.
func (h *harness) review(t testing.TB, token string) authenticationv1.TokenReviewStatus {
	t.Helper()
	out, err := h.Review(context.Background(), newReview(token))
	if err != nil {
		t.Fatalf("Review: %v", err)
	}
	return out.Status
}

func newReview(token string) *authenticationv1.TokenReview {
	return &authenticationv1.TokenReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview"},
		Spec: authenticationv1.TokenReviewSpec{Token: token}}
}

// eventually polls cond for up to 10 seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
