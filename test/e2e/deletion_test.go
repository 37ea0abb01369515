package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestClusterDeletion: deleting a cluster ends its tunnel, controllers,
// scoped tokens and their copies, and removes what Herd wrote into it; a
// cluster made again under the old name (here on another physical cluster)
// inherits nothing, and the old cluster's agent cannot come back as it.
func TestClusterDeletion(t *testing.T) {
	e := newEnv(t, "east") // Herd cluster "east" on the physical cluster east
	oldPhysical := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	newPhysical := herdtest.Kubectl{Kubeconfig: clusters.Get("west").KubeconfigPath()}
	oldToken := e.scopedToken(t, e.admin, "east", 0)
	k := e.kubectl(t, oldToken)
	k.Run(t, "get", "ns", "default")
	// An exec kubeconfig: herdctl keeps a token scoped to east.
	h := newHerdctl(t)
	h.run(herdtest.BootstrapPassword+"\n", "login", e.s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", checksum(e))
	execKC := filepath.Join(t.TempDir(), "exec.kubeconfig")
	if err := os.WriteFile(execKC, []byte(h.run("", "kubeconfig", "east", "--exec")), 0o600); err != nil {
		t.Fatal(err)
	}
	kx := herdtest.Kubectl{Kubeconfig: execKC, Env: h.env()}
	kx.Run(t, "get", "ns", "default")
	herdtest.Eventually(t, "the token's copy reaches the cluster", 15*time.Second, func() error {
		if out := oldPhysical.Run(t, "-n", "herd-tokens", "get", "secrets", "-l", "management.herd.dev/token-copy=east", "-o", "name"); out == "" {
			return fmt.Errorf("no token copies of east")
		}
		return nil
	})

	code, body := e.s.Do(t, "DELETE", "/v1/clusters/east", e.admin, nil)
	herdtest.Expect(t, "delete east while its agent is connected", code, body, http.StatusNoContent)
	for _, what := range []struct{ args []string }{
		{[]string{"-n", "herd-tokens", "get", "secrets", "-l", "management.herd.dev/token-copy", "-o", "name"}},
		{[]string{"get", "clusterroles,clusterrolebindings", "-l", "management.herd.dev/impersonation", "-o", "name"}},
		{[]string{"-n", "herd-system", "get", "serviceaccounts", "-l", "management.herd.dev/impersonation", "-o", "name"}},
		{[]string{"get", "clusterroles,clusterrolebindings", "-l", "management.herd.dev/source", "-o", "name"}},
	} {
		if out := oldPhysical.Run(t, what.args...); out != "" {
			t.Errorf("left in the deleted cluster (kubectl %s):\n%s", strings.Join(what.args, " "), out)
		}
	}
	if _, errOut, err := k.Exec("get", "ns", "default"); err == nil || !strings.Contains(errOut, "Unauthorized") {
		t.Errorf("the deleted cluster's token: %v %s, want Unauthorized", err, errOut)
	}

	// "east" again, imported from the other physical cluster. The old
	// agent, still running, keeps trying with its agent token.
	regTok, agentKC := e.importLocalCluster(t, "east", clusters.Get("west"))
	since := time.Now().Add(-time.Second)
	agent, _ := e.agentProcess(t, regTok, agentKC)
	defer func() {
		_ = agent.Process.Kill()
		_ = agent.Wait()
	}()
	e.waitAgentSince(t, "east", since)
	if _, errOut, err := k.Exec("get", "ns", "default"); err == nil || !strings.Contains(errOut, "Unauthorized") {
		t.Errorf("the old cluster's token on the new cluster of its name: %v %s, want Unauthorized", err, errOut)
	}
	// herdctl notices that its token of the old east is gone and gets one
	// of the new east.
	kx.Run(t, "get", "ns", "default")
	newToken := e.scopedToken(t, e.admin, "east", 0)
	nk := e.kubectl(t, newToken)
	nk.Run(t, "create", "namespace", "moved-here")
	defer newPhysical.Run(t, "delete", "namespace", "moved-here", "--wait=false")
	if _, _, err := newPhysical.Exec("get", "namespace", "moved-here"); err != nil {
		t.Errorf("a namespace made through the new east is not in the new physical cluster: %v", err)
	}
	if _, _, err := oldPhysical.Exec("get", "namespace", "moved-here"); err == nil {
		t.Error("a namespace made through the new east reached the old physical cluster")
	}
	time.Sleep(3 * time.Second) // what the old agent could do, it would have done by now
	for _, args := range [][]string{
		{"-n", "herd-tokens", "get", "secrets", "-l", "management.herd.dev/token-copy=east", "-o", "name"},
		{"get", "clusterroles", "-l", "management.herd.dev/source", "-o", "name"},
	} {
		if out := oldPhysical.Run(t, args...); out != "" {
			t.Errorf("the new east wrote into the old physical cluster (kubectl %s):\n%s", strings.Join(args, " "), out)
		}
	}
	if !strings.Contains(e.s.Logs.String(), "agent connection refused") {
		t.Error("the old agent's reconnection was not refused in the log")
	}

	// Clean up: the new east goes too, so later tests import east afresh.
	code, body = e.s.Do(t, "DELETE", "/v1/clusters/east", e.admin, nil)
	herdtest.Expect(t, "delete the new east", code, body, http.StatusNoContent)
	code, body = e.s.Do(t, "GET", "/v1/clusters/east", e.admin, nil)
	herdtest.Expect(t, "east is gone", code, body, http.StatusNotFound)
	var list herdapi.TokenList
	_, body = e.s.Do(t, "GET", "/v1/tokens", e.admin, nil)
	if err := decode(body, &list); err != nil {
		t.Fatal(err)
	}
	for _, tok := range list.Items {
		if tok.ClusterName == "east" {
			t.Errorf("token %s of the deleted east is still there", tok.Name)
		}
	}
}
