package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// processEnv is an env whose server is a `herd server` process, as in
// production (its own Go runtime, default log level, audit log in its
// data dir), so benchmarks can read its CPU time from /proc and profile
// it. Both processes serve Go's profiles on loopback.
type processEnv struct {
	*env
	server                   *haReplica
	serverDebug, agentDebug  string // loopback HOST:PORT of /debug/pprof/
	serverPID, agentPID, pid int
}

// newProcessEnv starts `herd server` on the shared management cluster,
// imports cluster into it and runs `herd agent` for it.
func newProcessEnv(b testing.TB, cluster string) *processEnv {
	b.Helper()
	herd := herdtest.Build(b, "../../cmd/herd", "herd")
	addr := freeAddr(b, "127.0.0.1")
	p := &processEnv{serverDebug: freeAddr(b, "127.0.0.1"), agentDebug: freeAddr(b, "127.0.0.1")}
	p.server = runHAReplica(b, herd, "bench", addr, "https://"+addr, b.TempDir(), "--debug-listen", p.serverDebug)
	ca := p.server.ca(b)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "localhost"},
		MaxIdleConnsPerHost: 64,
	}}
	b.Cleanup(client.CloseIdleConnections)
	p.env = &env{s: &herdtest.Server{URL: "https://" + addr, Client: client}, herd: herd, cluster: cluster, dataDir: p.server.dataDir}
	p.admin = p.s.Login(b, "admin", herdtest.BootstrapPassword)
	p.regTok, p.agentKC = p.importCluster(b, cluster)
	started := time.Now().Add(-time.Second)
	cmd := exec.Command(herd, "agent", "--server", p.s.URL, "--ca-checksum", server.Checksum(ca), "--kubeconfig", p.agentKC, "--debug-listen", p.agentDebug)
	cmd.Env = append(os.Environ(), "HERD_TOKEN="+p.regTok)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs := &herdtest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	herdtest.LogOnFailure(b, "agent", logs.String)
	p.agent = cmd
	b.Cleanup(p.stopAgent)
	p.waitAgentSince(b, cluster, started)
	p.serverPID, p.agentPID = p.server.cmd.Process.Pid, cmd.Process.Pid
	return p
}
