package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

// kubeAPIAuth runs `herd kube-api-auth` for a local cluster, as its
// DaemonSet would, with the service account the import manifest made.
func (e *env) kubeAPIAuth(t testing.TB, cluster string, lc *localcluster.Cluster) {
	t.Helper()
	down := herdtest.Kubectl{Kubeconfig: lc.KubeconfigPath()}
	kc := saKubeconfig(t, down, lc.ServerURL(), "herd-kube-api-auth")
	cmd := exec.Command(e.herd, "kube-api-auth", "--cluster", cluster, "--kubeconfig", kc,
		"--listen", lc.AuthWebhookListen(), "--tls-cert", lc.AuthWebhookCertFile(), "--tls-key", lc.AuthWebhookKeyFile())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs := &herdtest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("kube-api-auth log:\n%s", logs.String())
		}
	})
}

// saKubeconfig is a kubeconfig with a token of a service account of
// herd-system, as that account's pod would have it.
func saKubeconfig(t testing.TB, down herdtest.Kubectl, serverURL, sa string) string {
	return herdtest.SAKubeconfig(t, down, serverURL, "herd-system", sa)
}

// checkAuthorizedEndpoint: on e's cluster, whose kube-api-auth runs
// where the import manifest puts it (a control-plane node), a project
// member's kubeconfig works through Herd and directly with the same
// rights; directly also while Herd is down; revoked, expired and other
// clusters' tokens are refused directly.
func checkAuthorizedEndpoint(t *testing.T, e *env) {
	cluster, direct := e.cluster, e.cluster+"-direct"
	project := "ace-" + cluster
	code, body := e.s.Do(t, "PUT", "/v1/clusters/"+cluster+"/authorized-endpoint", e.admin, herdapi.AuthorizedEndpoint{Enabled: true})
	herdtest.Expect(t, "turn the authorized endpoint on", code, body, http.StatusOK)

	code, body = e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: project, ClusterName: cluster})
	if code != http.StatusConflict {
		herdtest.Expect(t, "project "+project, code, body, http.StatusCreated)
	}
	code, body = e.s.Do(t, "POST", "/v1/projects/"+project+"/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "ace-a", Create: true})
	herdtest.Expect(t, "namespace ace-a", code, body, http.StatusOK)
	const password = "ace-user-password-1"
	code, body = e.s.Do(t, "POST", "/v1/users", e.admin, herdapi.UserCreateRequest{Username: "ace", Password: password})
	if code != http.StatusConflict {
		herdtest.Expect(t, "user ace", code, body, http.StatusCreated)
	}
	code, body = e.s.Do(t, "POST", "/v1/members", e.admin, herdapi.MemberRequest{ProjectName: project, RoleTemplate: "project-member", Username: "ace"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "ace project-member", code, body, http.StatusCreated)
	}
	session := e.s.Login(t, "ace", password)
	kubeconfig := func(t *testing.T, token string) string {
		resp, body := e.s.DoResponse(t, "GET", "/v1/clusters/"+cluster+"/kubeconfig", token, nil)
		herdtest.Expect(t, "kubeconfig", resp.StatusCode, body, http.StatusOK)
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	kc := kubeconfig(t, session)
	run := func(k herdtest.Kubectl, context string, args ...string) error {
		_, errOut, err := k.Exec(append([]string{"--context", context, "--request-timeout=5s"}, args...)...)
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(errOut))
		}
		return nil
	}
	k := herdtest.Kubectl{Kubeconfig: kc}
	outer := t // a server restarted in a subtest must outlive it

	t.Run("both contexts, same rights", func(t *testing.T) {
		for _, c := range []string{cluster, direct} {
			herdtest.Eventually(t, c+": ace lists pods of ace-a", 15*time.Second, func() error { return run(k, c, "get", "pods", "-n", "ace-a") })
			if err := run(k, c, "get", "pods", "-n", "kube-system"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
				t.Errorf("%s: kube-system: %v, want forbidden", c, err)
			}
		}
	})

	t.Run("an exec kubeconfig's direct context", func(t *testing.T) {
		h := newHerdctl(t)
		h.run(password+"\n", "login", e.s.URL, "--username", "ace", "--password-stdin", "--ca-checksum", checksum(e))
		out := []byte(h.run("", "kubeconfig", cluster, "--exec", "--direct"))
		path := filepath.Join(t.TempDir(), "exec.kubeconfig")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		k := herdtest.Kubectl{Kubeconfig: path, Env: h.env()}
		herdtest.Eventually(t, "the exec kubeconfig's direct context lists pods", 15*time.Second, func() error {
			return run(k, direct, "get", "pods", "-n", "ace-a")
		})
	})

	t.Run("Herd down: direct works, the proxy fails fast", func(t *testing.T) {
		e.s.Stop()
		start := time.Now()
		err := run(k, cluster, "get", "pods", "-n", "ace-a")
		if err == nil || time.Since(start) > 10*time.Second || !strings.Contains(err.Error(), "refused") {
			t.Errorf("proxy context with Herd down: %v after %s, want a quick connection refused", err, time.Since(start))
		}
		if err := run(k, direct, "get", "pods", "-n", "ace-a"); err != nil {
			t.Errorf("direct context with Herd down: %v", err)
		}
		e.restartServer(outer)
		e.waitAgentSince(t, cluster, start)
	})

	// kube-apiserver keeps every successful token check for 10 s itself
	// (not configurable), in front of the webhook's own 2 s cache: a token
	// used just before it is revoked is refused 10 s after its last success
	// at the latest, plus the few milliseconds the copy takes to change.
	t.Run("a revoked token is refused directly within about 10 s", func(t *testing.T) {
		tok := e.scopedToken(t, session, cluster, 0)
		name, _, _ := strings.Cut(tok, ":")
		kc := kubeconfigWithToken(t, k, direct, tok)
		herdtest.Eventually(t, "the new token works directly", 15*time.Second, func() error { return run(kc, direct, "get", "pods", "-n", "ace-a") })
		code, body := e.s.Do(t, "DELETE", "/v1/tokens/"+name, session, nil)
		herdtest.Expect(t, "revoke", code, body, http.StatusNoContent)
		took := herdtest.Eventually(t, "revoked token refused directly", 12*time.Second, func() error {
			if err := run(kc, direct, "get", "pods", "-n", "ace-a"); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
				return fmt.Errorf("still accepted: %v", err)
			}
			return nil
		})
		t.Logf("revocation reached the direct endpoint after %s", took)
	})

	t.Run("an expired token is refused directly", func(t *testing.T) {
		tok := e.scopedToken(t, session, cluster, 3)
		kc := kubeconfigWithToken(t, k, direct, tok)
		herdtest.Eventually(t, "expired token refused", 15*time.Second, func() error {
			if err := run(kc, direct, "get", "pods", "-n", "ace-a"); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
				return fmt.Errorf("still accepted: %v", err)
			}
			return nil
		})
	})

	t.Run("a token of another cluster is refused", func(t *testing.T) {
		if code, body := e.s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "east"}); code != http.StatusConflict {
			herdtest.Expect(t, "cluster east", code, body, http.StatusCreated)
		}
		tok := e.scopedToken(t, e.admin, "east", 0)
		kc := kubeconfigWithToken(t, k, direct, tok)
		time.Sleep(3 * time.Second)
		if err := run(kc, direct, "get", "pods", "-n", "ace-a"); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("east's token on %s's endpoint: %v, want Unauthorized", cluster, err)
		}
	})
}

// scopedToken makes a kubeconfig token of a cluster (ttl seconds; 0: default).
func (e *env) scopedToken(t *testing.T, token, cluster string, ttl int64) string {
	t.Helper()
	code, body := e.s.Do(t, "POST", "/v1/tokens", token, herdapi.TokenCreateRequest{Kind: "kubeconfig", ClusterName: cluster, TTLSeconds: ttl})
	herdtest.Expect(t, "token for "+cluster, code, body, http.StatusCreated)
	var resp herdapi.TokenResponse
	if err := decode(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Token
}

// kubeconfigWithToken copies k's kubeconfig with another token for its user.
func kubeconfigWithToken(t *testing.T, k herdtest.Kubectl, context, token string) herdtest.Kubectl {
	t.Helper()
	raw := k.Run(t, "config", "view", "--raw", "--flatten", "--minify", "--context", context)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	out := herdtest.Kubectl{Kubeconfig: path}
	user := strings.TrimSpace(out.Run(t, "config", "view", "-o", "jsonpath={.users[0].name}"))
	out.Run(t, "config", "set-credentials", user, "--token="+token)
	return out
}
