package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestImpersonation: `kubectl --as` through Herd gets exactly what the same
// user's `--as` gets from the cluster's own apiserver (through the
// authorized endpoint, where the apiserver itself checks it): users,
// groups, service accounts, uids and extras; never more.
func TestImpersonation(t *testing.T) {
	e := newEnv(t, "west")
	lc := clusters.Get("west")
	e.kubeAPIAuth(t, "west", lc)
	code, body := e.s.Do(t, "PUT", "/v1/clusters/west/authorized-endpoint", e.admin, herdapi.AuthorizedEndpoint{Enabled: true})
	herdtest.Expect(t, "turn the authorized endpoint on", code, body, http.StatusOK)
	down := herdtest.Kubectl{Kubeconfig: lc.KubeconfigPath()}

	const password = "ivy-password-12345"
	code, body = e.s.Do(t, "POST", "/v1/users", e.admin, herdapi.UserCreateRequest{Username: "ivy", Password: password})
	if code != http.StatusConflict {
		herdtest.Expect(t, "user ivy", code, body, http.StatusCreated)
	}
	code, body = e.s.Do(t, "POST", "/v1/members", e.admin, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "view-nodes", Username: "ivy"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "ivy views west", code, body, http.StatusCreated)
	}
	ivyID := authn.UserObjectName("ivy")
	// In the cluster, ivy may impersonate any user and the group team-a:
	// not service accounts, uids, extras or other groups.
	applyDown(t, down, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ivy-impersonator}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate]}
- {apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [team-a]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ivy-impersonator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ivy-impersonator}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: `+ivyID+`}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: powerful, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: powerful-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: powerful, namespace: kube-system}]
`)
	t.Cleanup(func() {
		down.Run(t, "delete", "clusterrole,clusterrolebinding", "ivy-impersonator", "--ignore-not-found")
		down.Run(t, "delete", "clusterrolebinding", "powerful-admin", "--ignore-not-found")
		down.Run(t, "-n", "kube-system", "delete", "serviceaccount", "powerful", "--ignore-not-found")
		down.Run(t, "-n", "kube-system", "delete", "role,rolebinding", "ivy-sa-impersonator", "--ignore-not-found")
	})
	session := e.s.Login(t, "ivy", password)
	resp, kc := e.s.DoResponse(t, "GET", "/v1/clusters/west/kubeconfig", session, nil)
	herdtest.Expect(t, "ivy's kubeconfig", resp.StatusCode, kc, http.StatusOK)
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	k := herdtest.Kubectl{Kubeconfig: kcPath}
	contexts := []string{"west", "west-direct"}
	// kubectl in both contexts; the outcome is "ok" or the refusal's kind.
	both := func(t *testing.T, args ...string) (outs [2]string) {
		t.Helper()
		for i, c := range contexts {
			out, errOut, err := k.Exec(append([]string{"--context", c, "--request-timeout=10s"}, args...)...)
			switch {
			case err == nil:
				outs[i] = out
			case strings.Contains(errOut, "Forbidden") || strings.Contains(errOut, "forbidden") ||
				strings.Contains(errOut, "do not have permission"): // kubectl auth whoami's words for a 403
				outs[i] = "forbidden"
			default:
				outs[i] = "error: " + errOut
			}
		}
		return outs
	}
	herdtest.Eventually(t, "ivy reaches west through both contexts", 20*time.Second, func() error {
		if outs := both(t, "get", "nodes", "-o", "name"); !strings.Contains(outs[0], "node/") || !strings.Contains(outs[1], "node/") {
			return fmt.Errorf("%q", outs)
		}
		return nil
	})

	whoami := func(out string) string {
		var review struct {
			Status struct {
				UserInfo struct {
					Username string              `json:"username"`
					UID      string              `json:"uid"`
					Groups   []string            `json:"groups"`
					Extra    map[string][]string `json:"extra"`
				} `json:"userInfo"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(out), &review); err != nil {
			return out
		}
		u := review.Status.UserInfo
		return fmt.Sprintf("%s uid=%q groups=%v extra=%v", u.Username, u.UID, u.Groups, u.Extra)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string // "forbidden", or the identity whoami reports
	}{
		{"a user", []string{"--as=alice"}, `alice uid="" groups=[system:authenticated] extra=map[]`},
		{"a user and an allowed group", []string{"--as=alice", "--as-group=team-a"}, `alice uid="" groups=[team-a system:authenticated] extra=map[]`},
		{"another group", []string{"--as=alice", "--as-group=system:masters"}, "forbidden"},
		{"a service account, checked as serviceaccounts in its namespace", []string{"--as=system:serviceaccount:kube-system:powerful"}, "forbidden"},
		{"a uid", []string{"--as=alice", "--as-uid=42"}, "forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			outs := both(t, append([]string{"auth", "whoami", "-o", "json"}, tt.args...)...)
			for i, c := range contexts {
				got := outs[i]
				if got != "forbidden" {
					got = whoami(got)
				}
				if got != tt.want {
					t.Errorf("%s: got %s, want %s", c, got, tt.want)
				}
			}
		})
	}
	t.Run("an extra", func(t *testing.T) {
		cfg, err := clientcmd.LoadFromFile(kcPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range contexts {
			cluster := cfg.Clusters[cfg.Contexts[c].Cluster]
			token := cfg.AuthInfos[cfg.Contexts[c].AuthInfo].Token
			code := rawImpersonation(t, cluster.Server, cluster.CertificateAuthorityData, token,
				map[string]string{"Impersonate-User": "alice", "Impersonate-Extra-Scopes": "view"})
			if code != http.StatusForbidden {
				t.Errorf("%s: impersonating an extra: got %d, want 403", c, code)
			}
		}
	})
	t.Run("a service account once allowed, with its groups", func(t *testing.T) {
		applyDown(t, down, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ivy-sa-impersonator, namespace: kube-system}
rules: [{apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [powerful]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ivy-sa-impersonator, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ivy-sa-impersonator}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: `+ivyID+`}]
`)
		want := `system:serviceaccount:kube-system:powerful uid="" groups=[system:serviceaccounts system:serviceaccounts:kube-system system:authenticated] extra=map[]`
		// The apiserver caches refusals of a direct request for a few seconds.
		herdtest.Eventually(t, "ivy acts as powerful in both contexts", 20*time.Second, func() error {
			outs := both(t, "auth", "whoami", "-o", "json", "--as=system:serviceaccount:kube-system:powerful")
			for i, c := range contexts {
				if got := whoami(outs[i]); got != want {
					return fmt.Errorf("%s: got %s", c, got)
				}
			}
			return nil
		})
		if outs := both(t, "get", "secrets", "-n", "kube-system", "-o", "name", "--as=system:serviceaccount:kube-system:powerful"); outs[0] != outs[1] {
			t.Errorf("the service account's rights differ: through Herd %q, directly %q", outs[0], outs[1])
		}
		if outs := both(t, "auth", "whoami", "--as=system:serviceaccount:kube-system:other"); outs != [2]string{"forbidden", "forbidden"} {
			t.Errorf("another service account of kube-system: got %q, want forbidden in both", outs)
		}
	})
	t.Run("the forwarding accounts may act as exactly one identity", func(t *testing.T) {
		roles := down.Run(t, "get", "clusterroles", "-l", "management.herd.dev/impersonation=target", "-o", "json")
		var list struct {
			Items []struct {
				Metadata struct{ Name string }
				Rules    []struct {
					Resources     []string
					ResourceNames []string
				}
			}
		}
		if err := json.Unmarshal([]byte(roles), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 0 {
			t.Fatal("no --as accounts downstream")
		}
		for _, r := range list.Items {
			for _, rule := range r.Rules {
				if len(rule.ResourceNames) == 0 {
					t.Errorf("%s may impersonate any of %v", r.Metadata.Name, rule.Resources)
				}
			}
		}
	})
	t.Run("the audit line names the caller and whom they acted as", func(t *testing.T) {
		found := false
		for _, line := range strings.Split(e.s.Logs.String(), "\n") {
			if strings.Contains(line, `"msg":"proxied"`) && strings.Contains(line, `"user":"`+ivyID+`"`) && strings.Contains(line, `"impersonatedUser":"alice"`) {
				found = true
				break
			}
		}
		if !found {
			t.Error("no audit line with ivy as the user and alice as impersonatedUser")
		}
	})
}

// applyDown applies a manifest to a cluster as its admin.
func applyDown(t *testing.T, down herdtest.Kubectl, manifest string) {
	t.Helper()
	if _, errOut, err := down.ExecStdin(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
}

// rawImpersonation creates a SelfSubjectReview at server with token and
// extra headers, and returns the status.
func rawImpersonation(t *testing.T, server string, ca []byte, token string, headers map[string]string) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body := []byte(`{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}`)
	req, _ := http.NewRequest("POST", server+"/apis/authentication.k8s.io/v1/selfsubjectreviews", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
