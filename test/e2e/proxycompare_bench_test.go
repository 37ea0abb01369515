package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"herd.dev/herd/internal/herdtest"
)

// BenchmarkProxyCompare puts Herd's proxy beside Rancher's design and the
// apiserver itself, in one run and alternating (every round measures
// every target once, three rounds), on the local cluster east:
//
//   - direct: the kubeconfig's admin straight to the apiserver (client-go's
//     transport, HTTP/2); direct-impersonating adds the impersonation
//     headers Herd's proxy sets (a user, two groups, three extras), and
//     direct-impersonating-h1 sends them over HTTP/1.1;
//   - rancher, rancher-impersonating: rancher/remotedialer behind an
//     HTTPS proxy that checks a token, without and with those headers,
//     over HTTP/1.1, and rancher-impersonating-h2 over HTTP/2;
//   - herd: a `herd server` process, its tunnel and a `herd agent`
//     process, over HTTP/1.1 and (herd-h2) HTTP/2.
//
// Requests: a GET of one namespace with 1 and 32 clients, and a LIST of
// 2,000 ConfigMaps with 1 and 8 clients. It logs per target the median
// over the rounds of p50 latency and requests per second, the ratios the
// issue sets targets for, the CPU per request of the test process (the
// clients, and for rancher its proxy and agent) and Herd's own CPU per
// request: the server and agent processes' from /proc, as measured (herd
// CPU) and less what they spend without requests (herd net).
//
// With HERD_BENCH_PROFILE=DIR it only profiles Herd at 32 clients (see
// profileHerd).
func BenchmarkProxyCompare(b *testing.B) {
	e := newProcessEnv(b, "east")
	east := clusters.Get("east")
	kube := restConfigTB(b, east.KubeconfigPath())
	directTransport, err := rest.TransportFor(kube)
	if err != nil {
		b.Fatal(err)
	}
	impersonation := http.Header{
		"Impersonate-User": {"u-bench"}, "Impersonate-Group": {"herd:global-admins", "system:authenticated"},
		"Impersonate-Extra-Principalid": {"local://u-bench"}, "Impersonate-Extra-Username": {"admin"}, "Impersonate-Extra-Requesttokenid": {"t-bench"},
	}
	h1Config := rest.CopyConfig(kube)
	h1Config.NextProtos = []string{"http/1.1"}
	h1Transport, err := rest.TransportFor(h1Config)
	if err != nil {
		b.Fatal(err)
	}
	rancher := herdtest.StartRancherDesign(b, "east", kube, nil)
	rancherImp := herdtest.StartRancherDesign(b, "east", kube, impersonation)
	h2 := func(c *http.Client) *http.Client {
		t := c.Transport.(*http.Transport).Clone()
		t.ForceAttemptHTTP2 = true
		return &http.Client{Transport: t}
	}
	seedConfigMaps(b, herdtest.Kubectl{Kubeconfig: east.KubeconfigPath()}, "bench-list", 2000)

	type target struct {
		name, base, token string
		client            *http.Client
	}
	targets := []target{
		{"direct", east.ServerURL(), "", &http.Client{Transport: directTransport}},
		{"direct-impersonating", east.ServerURL(), "", &http.Client{Transport: headerAdder{next: directTransport, h: impersonation}}},
		{"direct-impersonating-h1", east.ServerURL(), "", &http.Client{Transport: headerAdder{next: h1Transport, h: impersonation}}},
		{"rancher", rancher.URL, rancher.Token, rancher.Client},
		{"rancher-impersonating", rancherImp.URL, rancherImp.Token, rancherImp.Client},
		{"rancher-impersonating-h2", rancherImp.URL, rancherImp.Token, h2(rancherImp.Client)},
		{"herd", e.s.URL + "/k8s/clusters/east", e.admin, e.s.Client},
		{"herd-h2", e.s.URL + "/k8s/clusters/east", e.admin, h2(e.s.Client)},
	}
	cases := []struct {
		name, path        string
		clients, requests int
	}{
		{"get/1", "/api/v1/namespaces/default", 1, 400},
		{"get/32", "/api/v1/namespaces/default", 32, 3200},
		{"list2000/1", "/api/v1/namespaces/bench-list/configmaps", 1, 30},
		{"list2000/8", "/api/v1/namespaces/bench-list/configmaps", 8, 120},
	}
	type result struct{ p50, rps, cpu, herdCPU, herdNet []float64 }
	results := map[string]*result{}
	herdCPU := func() float64 { return cpuSeconds(e.serverPID) + cpuSeconds(e.agentPID) }
	// What the server and agent spend without requests (controllers,
	// leases, the tunnel's pings), per second: subtracted for herd's net
	// CPU per request.
	idle0, idleStart := herdCPU(), time.Now()
	time.Sleep(10 * time.Second)
	idle := (herdCPU() - idle0) / time.Since(idleStart).Seconds()
	fmt.Printf("herd server and agent without requests: %.1f ms CPU per second\n", idle*1e3)
	rounds := 3
	if os.Getenv("HERD_BENCH_PROFILE") != "" {
		rounds = 0 // profile only
	}
	for range rounds {
		for _, c := range cases {
			for _, tgt := range targets {
				url := tgt.base + c.path
				for range 2 * c.clients { // warm the connection pools
					get(b, tgt.client, url, tgt.token)
				}
				self, herd, t0 := cpuSeconds(os.Getpid()), herdCPU(), time.Now()
				lat, rps := timedGets(c.clients, c.requests, func() { get(b, tgt.client, url, tgt.token) })
				took := time.Since(t0).Seconds()
				key := c.name + " " + tgt.name
				r := results[key]
				if r == nil {
					r = &result{}
					results[key] = r
				}
				r.p50 = append(r.p50, float64(lat[len(lat)/2].Microseconds()))
				r.rps = append(r.rps, rps)
				r.cpu = append(r.cpu, (cpuSeconds(os.Getpid())-self)/float64(c.requests)*1e6)
				spent := herdCPU() - herd
				r.herdCPU = append(r.herdCPU, spent/float64(c.requests)*1e6)
				r.herdNet = append(r.herdNet, (spent-idle*took)/float64(c.requests)*1e6)
			}
		}
	}
	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[len(s)/2]
	}
	if rounds == 0 {
		profileHerd(b, e, os.Getenv("HERD_BENCH_PROFILE"), cases[1].path, cases[1].clients)
		return
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-12s %-26s %10s %10s %12s %12s %12s\n", "case", "target", "p50 µs", "req/s", "test CPU µs", "herd CPU µs", "herd net µs")
	for _, c := range cases {
		for _, tgt := range targets {
			r := results[c.name+" "+tgt.name]
			fmt.Fprintf(&table, "%-12s %-26s %10.0f %10.0f %12.0f %12.0f %12.0f\n", c.name, tgt.name, median(r.p50), median(r.rps), median(r.cpu), median(r.herdCPU), median(r.herdNet))
		}
		herd, herdH2 := results[c.name+" herd"], results[c.name+" herd-h2"]
		rd, di := results[c.name+" rancher-impersonating"], results[c.name+" direct-impersonating"]
		fmt.Fprintf(&table, "%-12s herd/rancher-impersonating p50 %.2fx, req/s %.2fx; herd/direct-impersonating p50 %.2fx, req/s %.2fx; herd-h2/herd req/s %.2fx\n",
			c.name, median(herd.p50)/median(rd.p50), median(herd.rps)/median(rd.rps),
			median(herd.p50)/median(di.p50), median(herd.rps)/median(di.rps), median(herdH2.rps)/median(herd.rps))
		b.ReportMetric(median(herd.p50), c.name+"-herd-p50-µs")
		b.ReportMetric(median(herd.rps), c.name+"-herd-req/s")
		b.ReportMetric(median(herd.herdNet), c.name+"-herd-net-cpu-µs")
	}
	// Printed rather than logged: the testing package cuts benchmark logs
	// after ten lines.
	fmt.Println(table.String())
}

// profileHerd takes 8 s CPU and allocation profiles of the server and
// agent processes into dir (server.pprof, agent.pprof, server-allocs.pprof,
// agent-allocs.pprof) while clients GET path through
// Herd without pause.
func profileHerd(b *testing.B, e *processEnv, dir, path string, clients int) {
	url := e.s.URL + "/k8s/clusters/east" + path
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var requests atomic.Int64
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					get(b, e.s.Client, url, e.admin)
					requests.Add(1)
				}
			}
		})
	}
	var profiles sync.WaitGroup
	for name, url := range map[string]string{
		"server": "http://" + e.serverDebug + "/debug/pprof/profile?seconds=8", "agent": "http://" + e.agentDebug + "/debug/pprof/profile?seconds=8",
		"server-allocs": "http://" + e.serverDebug + "/debug/pprof/allocs?seconds=8", "agent-allocs": "http://" + e.agentDebug + "/debug/pprof/allocs?seconds=8",
	} {
		profiles.Go(func() {
			resp, err := http.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if err := os.WriteFile(filepath.Join(dir, name+".pprof"), data, 0o644); err != nil {
				b.Error(err)
			}
		})
	}
	profiles.Wait()
	close(stop)
	wg.Wait()
	fmt.Printf("%d requests in the 8 s profiles\n", requests.Load())
	fmt.Printf("CPU profiles of the server and agent: %s/{server,agent}{,-allocs}.pprof\n", dir)
}

// timedGets runs requests calls of f over clients goroutines and returns
// their sorted latencies and the requests per second.
func timedGets(clients, requests int, f func()) ([]time.Duration, float64) {
	lat := make([]time.Duration, requests)
	var mu sync.Mutex
	next := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				if n >= requests {
					return
				}
				t0 := time.Now()
				f()
				lat[n] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	rps := float64(requests) / time.Since(start).Seconds()
	slices.Sort(lat)
	return lat, rps
}

// seedConfigMaps makes n ConfigMaps in namespace (kept between runs).
func seedConfigMaps(b *testing.B, k herdtest.Kubectl, namespace string, n int) {
	b.Helper()
	var doc strings.Builder
	fmt.Fprintf(&doc, "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: %s}}\n", namespace)
	for i := range n {
		fmt.Fprintf(&doc, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-%04d, namespace: %s, labels: {app: bench}}, data: {key: value-%d, other: %q}}\n",
			i, namespace, i, strings.Repeat("x", 200))
	}
	if _, errOut, err := k.ExecStdin(doc.String(), "apply", "--server-side", "-f", "-"); err != nil {
		b.Fatalf("seed %d ConfigMaps: %v: %s", n, err, errOut)
	}
}
