package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// BenchmarkAuthorizedEndpoint is what the endpoint is for: with 50 ms
// added each way between Herd and the agent (a delaying TCP relay), a
// project member lists the pods of a namespace through Herd's proxy and
// through the direct context of the same kubeconfig.
func BenchmarkAuthorizedEndpoint(b *testing.B) {
	e := newEnv(b, "west")
	e.kubeAPIAuth(b, "west", clusters.Get("west"))
	// The agent reaches Herd only through the slow link.
	e.stopAgent()
	e.waitConnected(b, "False")
	relay := startDelayRelay(b, e.s.Addr().String(), 50*time.Millisecond)
	since := time.Now().Add(-time.Second)
	cmd := exec.Command(e.herd, "agent", "--server", "https://"+relay.addr(), "--ca-checksum", server.Checksum(e.s.CABundle()), "--kubeconfig", e.agentKC)
	cmd.Env = append(os.Environ(), "HERD_TOKEN="+e.regTok)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	e.waitAgentSince(b, "west", since)

	code, body := e.s.Do(b, "PUT", "/v1/clusters/west/authorized-endpoint", e.admin, herdapi.AuthorizedEndpoint{Enabled: true})
	herdtest.Expect(b, "turn the authorized endpoint on", code, body, http.StatusOK)
	code, body = e.s.Do(b, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "acebench", ClusterName: "west"})
	if code != http.StatusConflict {
		herdtest.Expect(b, "project", code, body, http.StatusCreated)
	}
	code, body = e.s.Do(b, "POST", "/v1/projects/acebench/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "acebench-a", Create: true})
	herdtest.Expect(b, "namespace", code, body, http.StatusOK)
	resp, kc := e.s.DoResponse(b, "GET", "/v1/clusters/west/kubeconfig", e.admin, nil)
	herdtest.Expect(b, "kubeconfig", resp.StatusCode, kc, http.StatusOK)
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		b.Fatal(err)
	}
	for _, kctx := range []string{"west", "west-direct"} {
		b.Run(kctx, func(b *testing.B) {
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: path},
				&clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
			if err != nil {
				b.Fatal(err)
			}
			cfg.QPS, cfg.Burst = -1, 0
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				b.Fatal(err)
			}
			list := func() {
				if _, err := cs.CoreV1().Pods("acebench-a").List(context.Background(), metav1.ListOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for { // the token copy reaches the cluster within seconds
				if _, err := cs.CoreV1().Pods("acebench-a").List(context.Background(), metav1.ListOptions{}); err == nil {
					break
				} else if time.Now().After(deadline) {
					b.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				list()
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
