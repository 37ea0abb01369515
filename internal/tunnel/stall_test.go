package tunnel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// stallSize is what the stalled stream has to deliver.
const stallSize = 64 << 20

// bigBackend serves /big (stallSize bytes, counting what it has written)
// and /small.
func bigBackend(t testing.TB, written *atomic.Int64) *httptest.Server {
	chunk := make([]byte, 1<<20)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			io.WriteString(w, "ok")
			return
		}
		for range stallSize / len(chunk) {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(backend.Close)
	return backend
}

// stall starts a download of /big and stops reading it once the sender is
// held back; it returns the response and how much the backend wrote.
func stall(t testing.TB, client *http.Client, backend string, written *atomic.Int64) (*http.Response, int64) {
	t.Helper()
	resp, err := client.Get(backend + "/big")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	last := int64(-1)
	for n := written.Load(); n != last; n = written.Load() { // until it stops growing
		last = n
		time.Sleep(200 * time.Millisecond)
	}
	return resp, last
}

func TestStalledStreamDoesNotSlowOthers(t *testing.T) {
	var written atomic.Int64
	backend := bigBackend(t, &written)
	h := newHarness(t, nil)
	startAgent(t, h.agentConfig(t, "c1", backend.Listener.Addr().String()))
	h.waitConnected(t, "c1")
	client := h.client(t, "c1")
	client.Timeout = 0 // the stalled download outlives any timeout

	resp, held := stall(t, client, backend.URL, &written)
	t.Logf("the backend wrote %d MiB of %d before it was held back", held>>20, stallSize>>20)
	if held >= stallSize*3/4 {
		t.Errorf("the backend wrote %d MiB of %d to a stalled reader; want flow control to hold it back", held>>20, stallSize>>20)
	}

	var latencies []time.Duration
	for range 100 {
		start := time.Now()
		if err := get(client, backend.URL+"/small"); err != nil {
			t.Fatalf("small request beside a stalled stream: %v", err)
		}
		latencies = append(latencies, time.Since(start))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("small requests beside the stalled stream: p50 %v, p99 %v", latencies[49], latencies[98])

	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != stallSize {
		t.Errorf("the stalled download, resumed, got %d bytes, err %v; want %d", n, err, stallSize)
	}
}

// get fetches url with a short deadline and reads the body.
func get(client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
