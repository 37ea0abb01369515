package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/tunnel"
)

// TestMetrics: /metrics is Prometheus text for callers with the global
// right to get metrics only; it shows a cluster's owner, its connection
// and this replica's tunnel sessions, and they follow an agent coming and
// going.
func TestMetrics(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.ReplicaID = "metrics-a" })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: "metrics-user", Password: "metrics-user-password-1"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "user", code, body, http.StatusCreated)
	}
	user := s.Login(t, "metrics-user", "metrics-user-password-1")
	if code, _ := s.Do(t, "GET", "/metrics", "", nil); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d, want 401", code)
	}
	if code, _ := s.Do(t, "GET", "/metrics", user, nil); code != http.StatusForbidden {
		t.Errorf("/metrics for a user without the right: %d, want 403", code)
	}

	// A registered cluster (as registration leaves it) and its agent.
	ctx := context.Background()
	c, err := client.New(s.ManagementConfig(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	cl := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "metrics-1"}}
	_ = c.Delete(ctx, cl)
	if err := c.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	name, secret := herdtoken.NewName("at-"), herdtoken.NewSecret()
	at := &v1.ClusterAgentToken{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ClusterAgentTokenSpec{ClusterName: cl.Name, ClusterUID: string(cl.UID), TokenHash: herdtoken.Hash(secret)}}
	if err := c.Create(ctx, at); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), at)
		_ = c.Delete(context.Background(), cl)
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
		_ = c.Patch(context.Background(), cl, patch)
	})

	scrape := func(t *testing.T) herdtest.Metrics { return herdtest.ScrapeMetrics(t, s, admin) }
	want := func(what, metric string, v float64, labels ...string) func(herdtest.Metrics) error {
		return func(f herdtest.Metrics) error {
			if got, ok := f.Value(metric, labels...); !ok || got != v {
				return fmt.Errorf("%s: %s%v = %v (found %v), want %v", what, metric, labels, got, ok, v)
			}
			return nil
		}
	}
	eventually := func(t *testing.T, what string, checks ...func(herdtest.Metrics) error) {
		t.Helper()
		herdtest.Eventually(t, what, 30*time.Second, func() error {
			f := scrape(t)
			for _, check := range checks {
				if err := check(f); err != nil {
					return err
				}
			}
			return nil
		})
	}

	first := scrape(t)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "herd_tunnel_sessions_accepted_total"} {
		if first[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	accepted, _ := first.Value("herd_tunnel_sessions_accepted_total")
	eventually(t, "the cluster owned by this replica, no agent yet",
		want("owner", "herd_cluster_owner", 1, "cluster", cl.Name, "replica", "metrics-a"),
		want("connected", "herd_cluster_connected", 0, "cluster", cl.Name),
		want("sessions", "herd_tunnel_sessions", 0, "cluster", cl.Name),
		func(f herdtest.Metrics) error {
			if n, _ := f.Value("herd_clusters_owned"); n < 1 {
				return fmt.Errorf("herd_clusters_owned %v, want at least 1", n)
			}
			return nil
		})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	u, _ := url.Parse(s.URL)
	agentCtx, stopAgent := context.WithCancel(ctx)
	a, err := tunnel.NewAgent(tunnel.AgentConfig{URL: "wss://" + u.Host + "/v1/connect",
		Header:    http.Header{"Authorization": {"Bearer " + herdtoken.Format(name, secret)}},
		TLSConfig: &tls.Config{RootCAs: pool},
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(agentCtx) }()
	t.Cleanup(func() { stopAgent(); <-done })
	eventually(t, "the agent counted",
		want("connected", "herd_cluster_connected", 1, "cluster", cl.Name),
		want("sessions", "herd_tunnel_sessions", 1, "cluster", cl.Name),
		want("accepted", "herd_tunnel_sessions_accepted_total", accepted+1))

	stopAgent()
	<-done
	eventually(t, "the agent gone",
		want("connected", "herd_cluster_connected", 0, "cluster", cl.Name),
		want("sessions", "herd_tunnel_sessions", 0, "cluster", cl.Name))

	// Proxied requests, by cluster (only once resolved), verb and code.
	before := scrape(t)
	count := func(f herdtest.Metrics, metric string, labels ...string) float64 {
		v, _ := f.Value(metric, labels...)
		return v
	}
	for range 3 {
		code, body := s.Do(t, "GET", "/k8s/clusters/local/api/v1/namespaces/default", admin, nil)
		herdtest.Expect(t, "get through the proxy", code, body, http.StatusOK)
	}
	code, body = s.Do(t, "GET", "/k8s/clusters/no-such-cluster-x1/api/v1/namespaces", admin, nil)
	herdtest.Expect(t, "an unknown cluster", code, body, http.StatusNotFound)
	code, body = s.Do(t, "GET", "/k8s/clusters/local/api/v1/namespaces", "", nil)
	herdtest.Expect(t, "a refused caller", code, body, http.StatusUnauthorized)
	s.Do(t, "BREW", "/k8s/clusters/local/api/v1/namespaces/default", admin, nil)
	after := scrape(t)
	for _, c := range []struct {
		what   string
		metric string
		labels []string
		more   float64
	}{
		{"GETs of local", "herd_proxy_requests_total", []string{"cluster", "local", "verb", "get", "code", "200"}, 3},
		{"GET durations", "herd_proxy_request_duration_seconds", []string{"verb", "get"}, 3},
		{"the unknown cluster, unnamed", "herd_proxy_requests_total", []string{"cluster", "", "verb", "list", "code", "404"}, 1},
		{"the refused caller, unnamed", "herd_proxy_requests_total", []string{"cluster", "", "verb", "list", "code", "401"}, 1},
		{"a made-up method", "herd_proxy_requests_total", []string{"cluster", "local", "verb", "other"}, 1},
	} {
		if got := count(after, c.metric, c.labels...) - count(before, c.metric, c.labels...); got != c.more {
			t.Errorf("%s: %s%v went up by %v, want %v", c.what, c.metric, c.labels, got, c.more)
		}
	}
	if _, ok := after.Value("herd_proxy_requests_total", "cluster", "no-such-cluster-x1"); ok {
		t.Error("a cluster name that resolved nothing labels a series")
	}
	if v, ok := after.Value("herd_proxy_requests_in_flight"); !ok || v != 0 {
		t.Errorf("herd_proxy_requests_in_flight at rest: %v (found %v), want 0", v, ok)
	}
}
