package server_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

// TestClusterImport creates a cluster, runs the printed import command
// against a second local cluster, and rotates and ends registration tokens.
func TestClusterImport(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "prod-1", DisplayName: "Production"})
	herdtest.Expect(t, "create cluster", code, body, http.StatusCreated)
	created := decodeJSON[herdapi.ClusterCreateResponse](t, body)
	if d := time.Until(created.Import.ExpiresAt) - 24*time.Hour; d > time.Minute || d < -time.Minute {
		t.Errorf("registration token expires in %v, want 24h", time.Until(created.Import.ExpiresAt))
	}
	if !strings.Contains(created.Import.Command, "--pinnedpubkey 'sha256//") {
		t.Errorf("import command %q does not pin the server key", created.Import.Command)
	}
	code, body = s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "prod-1"})
	herdtest.Expect(t, "create the same cluster again", code, body, http.StatusConflict)

	downstream := clusters.Get("downstream")
	runImportCommand(t, created.Import.Command, downstream.KubeconfigPath())
	k := herdtest.Kubectl{Kubeconfig: downstream.KubeconfigPath()}
	// The cluster has only kwok nodes, where Herd's pods never go: the
	// manifest is applied, its pods wait for a real node (test/e2e's
	// TestImportOnRealNodes runs them).
	if got := k.Run(t, "-n", "herd-system", "get", "deployment/herd-agent", "daemonset/herd-node-agent", "-o", "name"); got != "deployment.apps/herd-agent\ndaemonset.apps/herd-node-agent\n" {
		t.Errorf("objects of the import manifest: %q", got)
	}
	if got := k.Run(t, "-n", "herd-system", "get", "secret", "herd-credentials", "-o", "jsonpath={.data.token}"); got == "" {
		t.Error("the agent Secret has no token")
	}

	path := strings.TrimPrefix(created.Import.URL, s.URL)
	code, body = s.Do(t, "GET", path, "", nil)
	herdtest.Expect(t, "the manifest a second time", code, body, http.StatusOK)

	t.Run("rotation", func(t *testing.T) {
		rotate := func(grace int64) string {
			code, body := s.Do(t, "POST", "/v1/clusters/prod-1/import", admin, herdapi.ImportRequest{GracePeriodSeconds: grace})
			herdtest.Expect(t, "rotate", code, body, http.StatusCreated)
			return strings.TrimPrefix(decodeJSON[herdapi.ImportInfo](t, body).URL, s.URL)
		}
		second := rotate(-1)
		code, _ := s.Do(t, "GET", path, "", nil)
		herdtest.Expect(t, "a token ended by rotation", code, nil, http.StatusNotFound)
		third := rotate(2)
		for _, p := range []string{second, third} {
			code, body := s.Do(t, "GET", p, "", nil)
			herdtest.Expect(t, "a token in its grace period and a new one", code, body, http.StatusOK)
		}
		time.Sleep(2100 * time.Millisecond)
		code, _ = s.Do(t, "GET", second, "", nil)
		herdtest.Expect(t, "a token after its grace period", code, nil, http.StatusNotFound)
		path = third
	})

	t.Run("bad tokens", func(t *testing.T) {
		for _, p := range []string{"/v1/import/nonsense.yaml", "/v1/import/crt-x:" + strings.Repeat("A", 43) + ".yaml",
			strings.TrimSuffix(path, ".yaml"), "/v1/import/" + strings.Repeat("a", 5000) + ".yaml"} {
			if code, _ := s.Do(t, "GET", p, "", nil); code != http.StatusNotFound {
				t.Errorf("GET %.60s: got %d, want 404", p, code)
			}
		}
	})

	// A cluster no agent registered goes at once: Herd wrote nothing into it.
	code, body = s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "never-imported"})
	herdtest.Expect(t, "create a second cluster", code, body, http.StatusCreated)
	code, body = s.Do(t, "DELETE", "/v1/clusters/never-imported", admin, nil)
	herdtest.Expect(t, "delete a cluster no agent registered", code, body, http.StatusNoContent)

	// An agent registers but never connects here (kwok runs no
	// containers): Herd cannot clean up in the cluster, says so, and lets
	// go only with force.
	reg := herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: testCA(t), Token: "sa-token"}
	regToken := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/import/"), ".yaml")
	code, body = s.Do(t, "POST", "/v1/agent/register", regToken, reg)
	herdtest.Expect(t, "an agent registers", code, body, http.StatusOK)
	code, body = s.Do(t, "DELETE", "/v1/clusters/prod-1", admin, nil)
	herdtest.Expect(t, "delete a cluster without an agent", code, body, http.StatusAccepted)
	if !strings.Contains(string(body), "--force") {
		t.Errorf("delete without an agent: %s, want a note on --force", body)
	}
	code, _ = s.Do(t, "GET", path, "", nil)
	herdtest.Expect(t, "the manifest of a deleted cluster", code, nil, http.StatusNotFound)
	code, body = s.Do(t, "GET", "/v1/clusters/prod-1", admin, nil)
	herdtest.Expect(t, "a cluster being deleted", code, body, http.StatusOK)
	if c := decodeJSON[herdapi.Cluster](t, body); !c.Deleting {
		t.Errorf("a cluster being deleted: %s, want deleting", body)
	}
	code, body = s.Do(t, "DELETE", "/v1/clusters/prod-1?force=true", admin, nil)
	herdtest.Expect(t, "delete with force", code, body, http.StatusNoContent)
	code, body = s.Do(t, "GET", "/v1/clusters/prod-1", admin, nil)
	herdtest.Expect(t, "a deleted cluster", code, body, http.StatusNotFound)
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left := mgmt.Run(t, "get", "clusterregistrationtokens.management.herd.dev", "-l", "management.herd.dev/cluster=prod-1", "-o", "name")
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration tokens of a deleted cluster are still there after 30 s:\n%s", left)
		}
	}
}

// runImportCommand runs the command line a user would paste, with the
// built kubectl first on PATH.
func runImportCommand(t *testing.T, command, kubeconfig string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	kubectlDir := filepath.Dir(localcluster.KubectlPath(""))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+kubectlDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("import command failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "deployment.apps/herd-agent created") {
		t.Errorf("import command output:\n%s", out)
	}
}

// testCA is the PEM of a CA made for the test.
func testCA(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test-ca"); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem)
}
