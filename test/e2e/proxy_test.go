package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

func decode(body []byte, v any) error { return json.Unmarshal(body, v) }

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`

// TestProxy runs the built kubectl through Herd against a cluster that
// registered through its import manifest and whose agent is a real
// `herd agent` process.
func TestProxy(t *testing.T) {
	e := newEnv(t, "east")
	k := e.kubectl(t, e.admin)

	t.Run("get, apply, logs, exec, delete", func(t *testing.T) {
		if nodes := k.Run(t, "get", "nodes", "-o", "name"); strings.Count(nodes, "node/") != 2 {
			t.Fatalf("nodes through the proxy: %q", nodes)
		}
		if _, errOut, err := k.ExecStdin(deployment, "apply", "-f", "-"); err != nil {
			t.Fatalf("apply: %v %s", err, errOut)
		}
		k.Run(t, "rollout", "status", "deployment/web", "--timeout=60s")
		if out := k.Run(t, "logs", "deployment/web"); !strings.Contains(out, "container started") {
			t.Errorf("logs: %q", out)
		}
		if out := k.Run(t, "exec", "deployment/web", "--", "echo", "hi-spdy"); strings.TrimSpace(out) != "hi-spdy" {
			t.Errorf("exec over SPDY: %q", out)
		}
		ws := k
		ws.Env = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true"}
		if out := ws.Run(t, "exec", "deployment/web", "--", "echo", "hi-ws"); strings.TrimSpace(out) != "hi-ws" {
			t.Errorf("exec over WebSocket: %q", out)
		}
		k.Run(t, "delete", "deployment", "web", "--wait=true")
	})

	t.Run("downstream RBAC decides", func(t *testing.T) {
		code, body := e.s.Do(t, "POST", "/v1/users", e.admin, herdapi.UserCreateRequest{Username: "gail", Password: "gail-password-1234"})
		herdtest.Expect(t, "create user", code, body, http.StatusCreated)
		gail := e.s.Login(t, "gail", "gail-password-1234")
		if _, errOut, err := e.kubectl(t, gail).Exec("get", "pods"); err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("a user with no role in the cluster: %v %s, want 404", err, errOut)
		}
		mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		if _, errOut, err := mgmt.ExecStdin(`apiVersion: management.herd.dev/v1
kind: ClusterRoleTemplateBinding
metadata: {name: gail-east}
spec: {clusterName: east, roleTemplateName: view-nodes, subject: {userName: `+authn.UserObjectName("gail")+`}}
`, "apply", "-f", "-"); err != nil {
			t.Fatalf("bind: %v %s", err, errOut)
		}
		time.Sleep(500 * time.Millisecond) // informer
		_, errOut, err := e.kubectl(t, gail).Exec("get", "pods")
		if err == nil || !strings.Contains(errOut, "Forbidden") || !strings.Contains(errOut, authn.UserObjectName("gail")) {
			t.Errorf("a member without downstream RBAC: %v %s, want 403 for the Herd user", err, errOut)
		}
		// gail's requests went with an account that may impersonate only her.
		down := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
		gailID := authn.UserObjectName("gail")
		if got := down.Run(t, "get", "clusterrole", "herd-imp-"+gailID, "-o", "jsonpath={.rules[0].resourceNames}"); got != `["`+gailID+`"]` {
			t.Errorf("impersonation role of gail may impersonate users %s", got)
		}
		saToken := strings.TrimSpace(down.Run(t, "-n", "herd-system", "create", "token", "herd-imp-"+gailID))
		tokenOnly := herdtest.Kubectl{Kubeconfig: os.DevNull}
		if _, errOut, err := tokenOnly.Exec("get", "pods", "--server="+clusters.Get("east").ServerURL(),
			"--certificate-authority="+clusters.Get("east").CACertPath(), "--token="+saToken, "--as=someone-else"); err == nil || !strings.Contains(errOut, "cannot impersonate") {
			t.Errorf("gail's impersonation account impersonating someone else: %v %s", err, errOut)
		}
		// kubectl --as works where the downstream says the caller may impersonate.
		if _, errOut, err := k.Exec("get", "pods", "--as=someone"); err == nil || !strings.Contains(errOut, `User "someone" cannot list`) {
			t.Errorf("admin --as=someone: %v %s, want the downstream to judge someone", err, errOut)
		}
		if _, errOut, err := e.kubectl(t, gail).Exec("get", "pods", "--as=system:admin", "--as-group=system:masters"); err == nil || !strings.Contains(errOut, "cannot impersonate") {
			t.Errorf("gail --as=system:admin: %v %s, want the cluster's refusal", err, errOut)
		}
		// Impersonation without a user is a bad request, as the apiserver
		// says; other spoofed identity headers are stripped, not honoured.
		for _, tt := range []struct {
			h    map[string]string
			want int
		}{
			{map[string]string{"Impersonate-Group": "system:masters"}, http.StatusBadRequest},
			{map[string]string{"Impersonate-Uid": "0"}, http.StatusBadRequest},
			{map[string]string{"X-Remote-Group": "system:masters"}, http.StatusForbidden},
			{map[string]string{"Connection": "Impersonate-User"}, http.StatusForbidden},
		} {
			if code := rawGet(t, e, gail, "/api/v1/namespaces/default/pods", tt.h); code != tt.want {
				t.Errorf("with %v: got %d, want %d", tt.h, code, tt.want)
			}
		}
	})

	t.Run("the management cluster as local", func(t *testing.T) {
		local := e.kubectlFor(t, "local", e.admin)
		if out := local.Run(t, "get", "clusters.management.herd.dev", "-o", "name"); !strings.Contains(out, "east") {
			t.Errorf("admin on local: %q", out)
		}
		gail := e.s.Login(t, "gail", "gail-password-1234")
		if _, errOut, err := e.kubectlFor(t, "local", gail).Exec("get", "ns"); err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("a standard user on local: %v %s, want 404", err, errOut)
		}
	})

	t.Run("bad cluster ids", func(t *testing.T) {
		for _, id := range []string{"..", "%2Fetc", "EAST", "nosuch"} {
			if code := rawGet(t, e, e.admin, "", nil, id); code != http.StatusNotFound {
				t.Errorf("cluster id %q: got %d, want 404", id, code)
			}
		}
	})

	t.Run("audit log", func(t *testing.T) {
		var lines int
		for _, line := range strings.Split(e.s.Logs.String(), "\n") {
			if !strings.Contains(line, `"log":"audit"`) || !strings.Contains(line, `"msg":"proxied"`) {
				continue
			}
			lines++
			var entry map[string]any
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatalf("audit line is not JSON: %s", line)
			}
			for _, key := range []string{"time", "user", "impersonatedUser", "token", "cluster", "verb", "path", "status", "source", "duration"} {
				if _, ok := entry[key]; !ok {
					t.Errorf("audit line without %s: %s", key, line)
				}
			}
		}
		if lines < 10 {
			t.Errorf("%d audit lines, want one per proxied request", lines)
		}
		_, secret, _ := strings.Cut(e.admin, ":")
		if strings.Contains(e.s.Logs.String(), secret) || strings.Contains(e.s.Logs.String(), e.regTok[strings.Index(e.regTok, ":")+1:]) {
			t.Error("a token secret is in the server log")
		}
	})

	t.Run("agent restart", func(t *testing.T) {
		e.stopAgent()
		e.waitConnected(t, "False")
		if _, errOut, err := k.Exec("get", "ns"); err == nil || !strings.Contains(errOut, "unavailable") {
			t.Errorf("without an agent: %v %s", err, errOut)
		}
		e.startAgent(t)
		e.waitConnected(t, "True")
		k.Run(t, "get", "ns", "default")
	})

	t.Run("server restart", func(t *testing.T) {
		// The running agent reconnects with the agent token that its
		// registration gave it.
		for _, forged := range []string{"at-forgedxxxx:" + strings.Repeat("A", 43), "cluster-agent:" + e.cluster + ":forged", e.regTok} {
			code, _ := e.s.Do(t, "GET", "/v1/connect", forged, nil)
			herdtest.Expect(t, "a forged agent token, or a registration token, on the tunnel", code, nil, http.StatusUnauthorized)
		}
		e.restartServer(t)
		e.waitConnected(t, "True") // the agent came back on its own
		for deadline := time.Now().Add(70 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if _, _, err := k.Exec("get", "ns", "default"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("kubectl through the restarted server still fails after 70 s")
			}
		}
	})
}

// rawGet sends GET /k8s/clusters/<id><path> with extra headers and returns
// the status.
func rawGet(t testing.TB, e *env, token, path string, headers map[string]string, id ...string) int {
	t.Helper()
	cluster := e.cluster
	if len(id) > 0 {
		cluster = id[0]
	}
	req, _ := http.NewRequest("GET", e.s.URL+"/k8s/clusters/"+cluster+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := e.s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
