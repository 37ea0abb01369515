package e2e

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// BenchmarkGet measures a single-object GET (the default namespace)
// through Herd (proxy, tunnel, agent) and directly to the same apiserver,
// with 1 and 32 concurrent clients. It reports p50 and p99 latency and
// requests per second.
func BenchmarkGet(b *testing.B) {
	e := newEnv(b, "east")
	directTransport, err := rest.TransportFor(restConfigTB(b, clusters.Get("east").KubeconfigPath()))
	if err != nil {
		b.Fatal(err)
	}
	// direct-impersonating sends what Herd's proxy adds (impersonation of
	// a user, two groups and three extras) straight to the apiserver: the
	// apiserver's own cost of impersonation, without Herd's hops.
	impersonating := &http.Client{Transport: headerAdder{next: directTransport, h: http.Header{
		"Impersonate-User": {"u-bench"}, "Impersonate-Group": {"herd:global-admins", "system:authenticated"},
		"Impersonate-Extra-Principalid": {"local://u-bench"}, "Impersonate-Extra-Username": {"admin"}, "Impersonate-Extra-Requesttokenid": {"t-bench"},
	}}}
	direct := "/api/v1/namespaces/default"
	targets := []struct {
		name, url, token string
		client           *http.Client
	}{
		{"herd", e.s.URL + "/k8s/clusters/east" + direct, e.admin, e.s.Client},
		{"direct", clusters.Get("east").ServerURL() + direct, "", &http.Client{Transport: directTransport}},
		{"direct-impersonating", clusters.Get("east").ServerURL() + direct, "", impersonating},
	}
	for _, tgt := range targets {
		for _, clients := range []int{1, 32} {
			b.Run(tgt.name+"/clients="+itoa(clients), func(b *testing.B) {
				for range 2 * clients { // warm the connection pools
					get(b, tgt.client, tgt.url, tgt.token)
				}
				lat := runGets(b, clients, func() { get(b, tgt.client, tgt.url, tgt.token) })
				reportLatency(b, lat)
			})
		}
	}
}

// runGets runs b.N calls of f over clients goroutines and returns each
// call's latency.
func runGets(b *testing.B, clients int, f func()) []time.Duration {
	b.ResetTimer()
	lat, rps := timedGets(clients, b.N, f)
	b.StopTimer()
	b.ReportMetric(rps, "req/s")
	return lat
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func get(b *testing.B, c *http.Client, url, token string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("GET %s: %d", url, resp.StatusCode)
	}
}

func restConfigTB(b testing.TB, kubeconfig string) *rest.Config {
	cfg, err := clientcmdConfig(kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling in a benchmark
	return cfg
}

func itoa(n int) string { return strconv.Itoa(n) }

// headerAdder adds headers to every request.
type headerAdder struct {
	next http.RoundTripper
	h    http.Header
}

func (a headerAdder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range a.h {
		r.Header[k] = v
	}
	return a.next.RoundTrip(r)
}
