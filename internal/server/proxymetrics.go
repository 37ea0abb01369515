package server

import (
	"context"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/wellknown"
)

// proxyVerbs are the verbs that label proxy metrics; any other (a made-up
// HTTP method) counts as "other", so that clients cannot make label
// values.
var proxyVerbs = map[string]bool{
	"get": true, "list": true, "watch": true, "create": true, "update": true, "patch": true, "delete": true,
	"deletecollection": true, "head": true, "options": true, "post": true, "put": true,
}

// proxyMetrics observes the authenticating proxy (authproxy.Observer) and
// collects what it saw. Only clusters that resolved label its series, and
// a deleted cluster's series go at the next scrape.
type proxyMetrics struct {
	inFlight      prometheus.Gauge
	requests      *prometheus.CounterVec   // cluster, verb, code
	duration      *prometheus.HistogramVec // verb; watches and sessions left out
	sessions      *prometheus.GaugeVec     // cluster, kind
	sessionsTotal *prometheus.CounterVec   // kind

	// exists reports whether a cluster is still there; the cache says.
	exists func(ctx context.Context, name string) bool

	mu   sync.Mutex
	seen map[string]bool // clusters with series
}

var _ authproxy.Observer = (*proxyMetrics)(nil)
var _ prometheus.Collector = (*proxyMetrics)(nil)

func newProxyMetrics(exists func(ctx context.Context, name string) bool) *proxyMetrics {
	return &proxyMetrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "herd_proxy_requests_in_flight",
			Help: "Requests the authenticating proxy is serving now, watches and exec, attach and port-forward sessions included."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_proxy_requests_total",
			Help: "Requests through the authenticating proxy by cluster (empty: not resolved for the caller), Kubernetes verb and HTTP status code."},
			[]string{"cluster", "verb", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "herd_proxy_request_duration_seconds",
			Help:    "Time to answer a proxied request, by Kubernetes verb; watches and upgraded sessions are left out.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"verb"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "herd_proxy_sessions",
			Help: "Exec, attach and port-forward sessions open through the proxy, by cluster and kind."},
			[]string{"cluster", "kind"}),
		sessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_proxy_sessions_total",
			Help: "Exec, attach and port-forward sessions opened through the proxy, by kind."},
			[]string{"kind"}),
		exists: exists,
		seen:   map[string]bool{},
	}
}

func (m *proxyMetrics) Started() { m.inFlight.Inc() }

func (m *proxyMetrics) Finished(req authproxy.Request) {
	m.inFlight.Dec()
	verb := req.Verb
	if !proxyVerbs[verb] {
		verb = "other"
	}
	m.see(req.Cluster)
	m.requests.WithLabelValues(req.Cluster, verb, strconv.Itoa(req.Code)).Inc()
	if req.Session == "" && !req.Watch {
		m.duration.WithLabelValues(verb).Observe(req.Duration.Seconds())
	}
}

func (m *proxyMetrics) SessionStarted(cluster, kind string) {
	m.see(cluster)
	m.sessions.WithLabelValues(cluster, kind).Inc()
	m.sessionsTotal.WithLabelValues(kind).Inc()
}

func (m *proxyMetrics) SessionEnded(cluster, kind string) {
	m.sessions.WithLabelValues(cluster, kind).Dec()
}

func (m *proxyMetrics) see(cluster string) {
	if cluster == "" {
		return
	}
	m.mu.Lock()
	m.seen[cluster] = true
	m.mu.Unlock()
}

func (m *proxyMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.inFlight.Describe(ch)
	m.requests.Describe(ch)
	m.duration.Describe(ch)
	m.sessions.Describe(ch)
	m.sessionsTotal.Describe(ch)
}

// Collect drops the series of deleted clusters, then collects.
func (m *proxyMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	for name := range m.seen {
		if !m.exists(context.Background(), name) {
			m.requests.DeletePartialMatch(prometheus.Labels{"cluster": name})
			m.sessions.DeletePartialMatch(prometheus.Labels{"cluster": name})
			delete(m.seen, name)
		}
	}
	m.mu.Unlock()
	m.inFlight.Collect(ch)
	m.requests.Collect(ch)
	m.duration.Collect(ch)
	m.sessions.Collect(ch)
	m.sessionsTotal.Collect(ch)
}

// clusterExists reports whether the cache holds the cluster. The local
// cluster is always there.
func (s *Server) clusterExists(ctx context.Context, name string) bool {
	if name == wellknown.LocalCluster {
		return true
	}
	var c v1.Cluster
	return s.cache.Get(ctx, client.ObjectKey{Name: name}, &c, client.UnsafeDisableDeepCopy) == nil // read only
}
