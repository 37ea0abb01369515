package herdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"herd.dev/herd/internal/server"
)

// SAKubeconfig writes a kubeconfig for a service account of the cluster
// that down reaches (a token of 2 h), at serverURL, and returns its path.
func SAKubeconfig(t testing.TB, down Kubectl, serverURL, namespace, sa string) string {
	t.Helper()
	token := strings.TrimSpace(down.Run(t, "-n", namespace, "create", "token", sa, "--duration=2h"))
	ca := down.Run(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: " + serverURL + ", certificate-authority-data: " + ca + "}}]\n" +
		"users: [{name: u, user: {token: " + token + "}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// AgentProcess starts the herd binary's `herd agent` for s with a
// registration token and a kubeconfig, as the import manifest's
// Deployment would where no kubelet runs it (kwok's nodes). The caller
// stops it; the kernel kills it if the test binary dies. Its output goes
// to the returned buffer.
func AgentProcess(t testing.TB, herd string, s *Server, regTok, kubeconfig string) (*exec.Cmd, *SyncBuffer) {
	t.Helper()
	cmd := exec.Command(herd, "agent", "--server", s.URL, "--ca-checksum", server.Checksum(s.CABundle()), "--kubeconfig", kubeconfig)
	cmd.Env = append(os.Environ(), "HERD_TOKEN="+regTok)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, logs
}
