package clusterstatus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) {
	// The fake clientset's watchers panic when more than DefaultChanSize
	// events wait; the batching test creates pods faster than an informer
	// under the race detector may read them.
	watch.DefaultChanSize = 10_000
	os.Exit(m.Run())
}

// fakeAPIServer serves /readyz and /version, the two paths that the
// Controller gets through discovery's REST client, which the fake
// clientset lacks.
type fakeAPIServer struct {
	notReady atomic.Bool
	srv      *httptest.Server
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	s := &fakeAPIServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.notReady.Load() {
			http.Error(w, "[-]etcd failed: reason withheld\nreadyz check failed", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"})
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// kube is the fake clientset with the discovery of a fakeAPIServer.
type kube struct {
	*fake.Clientset
	discovery discovery.DiscoveryInterfaces
}

func (k kube) Discovery() discovery.DiscoveryInterfaces { return k.discovery }

func newKube(t *testing.T, api *fakeAPIServer, objects ...runtime.Object) kube {
	return kube{Clientset: fake.NewClientset(objects...),
		discovery: discovery.NewDiscoveryClientForConfigOrDie(&rest.Config{Host: api.srv.URL})}
}

// recordingWriter records every write.
type recordingWriter struct {
	mu     sync.Mutex
	writes []Observed
}

func (w *recordingWriter) WriteStatus(_ context.Context, cluster string, o Observed) error {
	if cluster != "c-test" {
		return fmt.Errorf("write for cluster %q", cluster)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, o)
	return nil
}

// all returns a copy of the writes so far.
func (w *recordingWriter) all() []Observed {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Observed(nil), w.writes...)
}

// last returns the last write and the number of writes; ok is false before
// the first.
func (w *recordingWriter) last() (o Observed, n int, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.writes) == 0 {
		return Observed{}, 0, false
	}
	return w.writes[len(w.writes)-1], len(w.writes), true
}

// stepClock is a clock that moves one second at every reading, so that
// each timestamp differs from the one before.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// start runs a Controller for cluster c-test until the test ends.
func start(t *testing.T, cfg Config) {
	t.Helper()
	cfg.Cluster = "c-test"
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: got %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// eventually polls cond until it returns true, and fails the test with
// cond's last description after the deadline.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 20s: %s", what, desc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
