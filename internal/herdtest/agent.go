package herdtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/localcluster"
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

// ImportCluster creates (or re-imports) a cluster in Herd as admin,
// applies its import manifest to lc, and returns the registration token
// from the manifest's Secret and a kubeconfig with the agent service
// account's token: what AgentProcess needs to run the agent.
func ImportCluster(t testing.TB, s *Server, admin, name string, lc *localcluster.Cluster) (regTok, agentKC string) {
	t.Helper()
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: name})
	if code == http.StatusConflict {
		code, body = s.Do(t, "POST", "/v1/clusters/"+name+"/import", admin, nil)
		Expect(t, "new import command", code, body, http.StatusCreated)
	} else {
		Expect(t, "create cluster", code, body, http.StatusCreated)
	}
	down := Kubectl{Kubeconfig: lc.KubeconfigPath()}
	manifest, err := exec.Command("curl", "-fsSk", "--max-time", "30", ImportURL(t, body)).Output()
	if err != nil {
		t.Fatalf("fetch the import manifest: %v", err)
	}
	if _, errOut, err := down.ExecStdin(string(manifest), "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the import manifest: %v\n%s", err, errOut)
	}
	tok, _ := base64.StdEncoding.DecodeString(down.Run(t, "-n", "herd-system", "get", "secret", "herd-credentials", "-o", "jsonpath={.data.token}"))
	return string(tok), SAKubeconfig(t, down, lc.ServerURL(), "herd-system", "herd-agent")
}

// ImportURL is the import manifest's URL in a create or import answer.
func ImportURL(t testing.TB, body []byte) string {
	var created herdapi.ClusterCreateResponse
	if json.Unmarshal(body, &created) == nil && created.Import.URL != "" {
		return created.Import.URL
	}
	var info herdapi.ImportInfo
	if err := json.Unmarshal(body, &info); err != nil || info.URL == "" {
		t.Fatalf("no import URL in %s", body)
	}
	return info.URL
}
