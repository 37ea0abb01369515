package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/tunnel"
)

// benchLabel marks the objects BenchmarkIdleAgents registers.
const benchLabel = "herd.dev/bench"

// BenchmarkIdleAgents runs HERD_BENCH_AGENTS (default 10,000) simulated
// agents in this process, each with its own registered cluster and agent
// token and its own TLS connection, against one `herd server` process on
// the shared management cluster. It reports the time until all are
// connected, the server's resident memory per idle agent, its CPU at idle
// with all connected, and the time until all are back after the server
// restarts.
func BenchmarkIdleAgents(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("HERD_BENCH_AGENTS")); err == nil && v > 0 {
		n = v
	}
	herd := herdtest.Build(b, "../../cmd/herd", "herd")
	addr := freeAddr(b, "127.0.0.1")
	dataDir := b.TempDir()
	// The server installs Herd's CRDs; the clusters come after, and the
	// baseline is taken once it has them in its cache and settled.
	debug := freeAddr(b, "127.0.0.1")
	srv := runHAReplica(b, herd, "scale-1", addr, "https://"+addr, dataDir, "--debug-listen", debug)
	mgmt := benchClient(b)
	tokens := registerLabeledClusters(b, mgmt, "agents", "scale-", n)
	time.Sleep(30 * time.Second)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.ca(b))
	rss0 := procRSS(b, srv.cmd.Process.Pid)
	say := func(format string, args ...any) {
		// At once: the cleanup (deleting every cluster) takes minutes.
		fmt.Fprintf(os.Stderr, "BenchmarkIdleAgents: "+format+"\n", args...)
	}
	say("server profiles at http://%s/debug/pprof/", debug)
	say("%d clusters registered; server RSS %d MiB before any agent connects", n, rss0>>20)

	var connected atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var agents sync.WaitGroup
	b.Cleanup(func() { cancel(); agents.Wait() })
	begin := time.Now()
	for _, tok := range tokens {
		a, err := tunnel.NewAgent(tunnel.AgentConfig{URL: "wss://" + addr + "/v1/connect",
			Header:    http.Header{"Authorization": {"Bearer " + tok}},
			TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
			Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
			OnConnect: func() { connected.Add(1) }, OnDisconnect: func(error) { connected.Add(-1) }})
		if err != nil {
			b.Fatal(err)
		}
		agents.Go(func() { _ = a.Run(ctx) })
	}
	waitCount(b, "every agent connected", &connected, int64(n), 10*time.Minute)
	b.ReportMetric(time.Since(begin).Seconds(), "s-to-connect-all")
	say("all %d connected in %v", n, time.Since(begin).Round(time.Millisecond))

	// The Connected writes (connWriteQPS a second) are part of connecting;
	// idle begins once every Cluster says so.
	waitMarkedConnected(b, mgmt, "agents", n, 10*time.Minute)
	say("every Cluster marked Connected %v after the first agent dialed", time.Since(begin).Round(time.Millisecond))
	time.Sleep(30 * time.Second) // idle
	cpu0, at0 := procCPU(b, srv.cmd.Process.Pid), time.Now()
	time.Sleep(30 * time.Second)
	cpu := procCPU(b, srv.cmd.Process.Pid) - cpu0
	b.ReportMetric(100*cpu.Seconds()/time.Since(at0).Seconds(), "%cpu-idle")
	rss := procRSS(b, srv.cmd.Process.Pid)
	b.ReportMetric(float64(rss-rss0)/1024/float64(n), "KB/agent")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-server")
	say("%d agents: server RSS %d MiB before, %d MiB with all connected and idle (%.1f KB per agent); idle CPU %.1f %%",
		n, rss0>>20, rss>>20, float64(rss-rss0)/1024/float64(n), 100*cpu.Seconds()/time.Since(at0).Seconds())

	saveProfiles(b, debug, "idle", "heap", "heap?debug=1", "goroutine?debug=1", "profile?seconds=15")

	// Restart: the agents find the server gone, back off with jitter and
	// come back.
	stopped := time.Now()
	srv.stop(syscall.SIGTERM)
	restarted := time.Now()
	srv = runHAReplica(b, herd, "scale-1", addr, "https://"+addr, dataDir, "--debug-listen", debug)
	ready := time.Now()
	var profiled sync.WaitGroup
	profiled.Go(func() { saveProfiles(b, debug, "restart", "profile?seconds=10") })
	waitCount(b, "every agent back", &connected, int64(n), 10*time.Minute)
	b.ReportMetric(time.Since(ready).Seconds(), "s-back-after-ready")
	profiled.Wait()
	say("restart: stopped in %v, ready %v later, every agent back %v after ready",
		restarted.Sub(stopped).Round(time.Millisecond), ready.Sub(restarted).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	b.ReportMetric(0, "ns/op")
}

// saveProfiles writes the server's runtime profiles into the folder
// HERD_BENCH_PROFILES names, if any, as STAGE-NAME files for go tool pprof.
func saveProfiles(b *testing.B, debug, stage string, names ...string) {
	dir := os.Getenv("HERD_BENCH_PROFILES")
	if dir == "" {
		return
	}
	for _, name := range names {
		resp, err := http.Get("http://" + debug + "/debug/pprof/" + name)
		if err != nil {
			b.Logf("profile %s: %v", name, err)
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Logf("profile %s: %s %v", name, resp.Status, err)
			continue
		}
		file := filepath.Join(dir, stage+"-"+strings.NewReplacer("?", "-", "=", "").Replace(name))
		if err := os.WriteFile(file, data, 0o600); err != nil {
			b.Logf("profile %s: %v", name, err) // also from another goroutine
		}
	}
}

func waitCount(b *testing.B, what string, n *atomic.Int64, want int64, timeout time.Duration) {
	b.Helper()
	for deadline := time.Now().Add(timeout); n.Load() < want; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s: %d of %d", what, n.Load(), want)
		}
	}
}

// registerLabeledClusters creates n Clusters named prefix and a number,
// labelled benchLabel=value, with an agent token each, as registration
// leaves them, and returns the tokens. They are deleted when the test or
// benchmark ends.
func registerLabeledClusters(b testing.TB, c client.Client, value, prefix string, n int) []string {
	ctx := context.Background()
	b.Cleanup(func() { deleteLabeledClusters(b, c, value) })
	tokens := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				labels := map[string]string{benchLabel: value}
				cl := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%05d", prefix, i), Labels: labels}}
				if err := c.Create(ctx, cl); err != nil {
					errs <- err
					return
				}
				name, secret := herdtoken.NewName("at-"), herdtoken.NewSecret()
				at := &v1.ClusterAgentToken{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
					Spec: v1.ClusterAgentTokenSpec{ClusterName: cl.Name, ClusterUID: string(cl.UID), TokenHash: herdtoken.Hash(secret)}}
				if err := c.Create(ctx, at); err != nil {
					errs <- err
					return
				}
				tokens[i] = herdtoken.Format(name, secret)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("register the benchmark's clusters: %v", err)
	}
	return tokens
}

// benchClient reaches the shared management cluster.
func benchClient(b testing.TB) client.Client {
	scheme, err := store.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(restConfigTB(b, clusters.Get("mgmt").KubeconfigPath()), client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// waitMarkedConnected waits until n Clusters with benchLabel=value have
// Connected=True.
func waitMarkedConnected(b *testing.B, c client.Client, value string, n int, timeout time.Duration) {
	b.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(2 * time.Second) {
		var list v1.ClusterList
		if err := c.List(context.Background(), &list, client.MatchingLabels{benchLabel: value}); err != nil {
			b.Fatal(err)
		}
		marked := 0
		for _, cl := range list.Items {
			if meta.IsStatusConditionTrue(cl.Status.Conditions, v1.ClusterConnected) {
				marked++
			}
		}
		if marked >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for every Cluster to be marked Connected: %d of %d", marked, n)
		}
	}
}

// deleteLabeledClusters deletes the clusters and agent tokens with
// benchLabel=value, the server's finalizer included (no agent is left to
// clean up after).
func deleteLabeledClusters(b testing.TB, c client.Client, value string) {
	ctx := context.Background()
	sel := client.MatchingLabels{benchLabel: value}
	_ = c.DeleteAllOf(ctx, &v1.ClusterAgentToken{}, sel)
	var list v1.ClusterList
	if err := c.List(ctx, &list, sel); err != nil {
		b.Logf("list the benchmark's clusters: %v", err)
		return
	}
	var wg sync.WaitGroup
	work := make(chan v1.Cluster)
	for range 16 {
		wg.Go(func() {
			for cl := range work {
				_ = c.Delete(ctx, &cl)
				patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
				_ = c.Patch(ctx, &cl, patch)
			}
		})
	}
	for _, cl := range list.Items {
		work <- cl
	}
	close(work)
	wg.Wait()
}

// procRSS is a process's resident memory in bytes.
func procRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// procCPU is a process's user and system CPU time so far.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}
