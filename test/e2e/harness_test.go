package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/server"
)

// env is a server with one imported cluster and its agent running.
type env struct {
	s       *herdtest.Server
	admin   string // admin token
	herd    string // the herd binary
	cluster string
	agent   *exec.Cmd
	agentKC string // the agent's kubeconfig (service account token)
	regTok  string
	dataDir string
}

// restartServer stops the server and starts another on the same address,
// data dir (so the same CA) and management cluster.
func (e *env) restartServer(t testing.TB) {
	addr := e.s.Addr().String()
	e.s.Stop()
	e.s = herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir, c.Listen = clusters.Get("mgmt").KubeconfigPath(), e.dataDir, addr
	})
}

func newEnv(t testing.TB, cluster string) *env {
	dataDir := t.TempDir()
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
	})
	e := &env{s: s, herd: herdtest.Build(t, "../../cmd/herd", "herd"), cluster: cluster, dataDir: dataDir}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	e.regTok, e.agentKC = e.importCluster(t, cluster)
	t.Cleanup(e.stopAgent)
	// A Connected=True left by an earlier test's server is stale: wait
	// for this agent's connection, which sets lastSeen.
	started := time.Now().Add(-time.Second)
	e.startAgent(t)
	e.waitAgentSince(t, cluster, started)
	return e
}

// waitAgentSince waits until the cluster is Connected by an agent that
// connected after since (Connected=True left by an earlier test's server
// is stale; a connection sets lastSeen). lastSeen is stored in whole
// seconds: an agent back within since's second shows that second.
func (e *env) waitAgentSince(t testing.TB, cluster string, since time.Time) {
	t.Helper()
	since = since.Truncate(time.Second)
	herdtest.Eventually(t, "the agent of "+cluster+" connected", 30*time.Second, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+cluster, e.admin, nil)
		var c herdapi.Cluster
		if err := decode(body, &c); err != nil || c.Connected != "True" || c.LastSeen == nil || c.LastSeen.Before(since) {
			return fmt.Errorf("cluster %s: %s", cluster, body)
		}
		return nil
	})
}

// importCluster creates (or re-imports) a cluster in Herd, applies its
// import manifest, and returns the registration token from the manifest's
// Secret and a kubeconfig with the agent service account's token.
func (e *env) importCluster(t testing.TB, cluster string) (regTok, agentKC string) {
	return e.importLocalCluster(t, cluster, clusters.Get(cluster))
}

// importLocalCluster imports a local cluster under a Herd cluster name.
func (e *env) importLocalCluster(t testing.TB, cluster string, lc *localcluster.Cluster) (regTok, agentKC string) {
	return herdtest.ImportCluster(t, e.s, e.admin, cluster, lc)
}

// startAgent runs `herd agent` as a process until stopAgent or the end
// of the test that made e.
func (e *env) startAgent(t testing.TB) {
	e.agent, _ = e.agentProcess(t, e.regTok, e.agentKC)
}

// agentProcess starts `herd agent` with a registration token and a
// kubeconfig; the caller stops it. Its output goes to the returned buffer.
func (e *env) agentProcess(t testing.TB, regTok, kubeconfig string) (*exec.Cmd, *herdtest.SyncBuffer) {
	return herdtest.AgentProcess(t, e.herd, e.s, regTok, kubeconfig)
}

func (e *env) stopAgent() {
	if e.agent != nil && e.agent.Process != nil {
		_ = e.agent.Process.Kill()
		_ = e.agent.Wait()
		e.agent = nil
	}
}

func (e *env) waitConnected(t testing.TB, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster, e.admin, nil)
		var c herdapi.Cluster
		if decode(body, &c) == nil && c.Connected == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: Connected is not %s after 30 s: %s", e.cluster, want, body)
		}
	}
}

// kubectl returns a kubectl that talks to e's cluster through Herd's
// proxy with token.
func (e *env) kubectl(t testing.TB, token string) herdtest.Kubectl {
	return e.kubectlFor(t, e.cluster, token)
}

// kubectlFor is kubectl for another cluster of the same server.
func (e *env) kubectlFor(t testing.TB, cluster, token string) herdtest.Kubectl {
	return e.s.Kubectl(t, cluster, token)
}

func ctxTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func checksum(e *env) string { return server.Checksum(e.s.CABundle()) }
