package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// rbacEnv is an env on cluster west with helpers for users and members.
type rbacEnv struct {
	*env
	down herdtest.Kubectl // west directly, as its admin
	mgmt herdtest.Kubectl // the management cluster directly
}

func (e *rbacEnv) user(t *testing.T, name string) string {
	t.Helper()
	password := name + "-password-1234"
	code, body := e.s.Do(t, "POST", "/v1/users", e.admin, herdapi.UserCreateRequest{Username: name, Password: password})
	if code != http.StatusConflict {
		herdtest.Expect(t, "create user "+name, code, body, http.StatusCreated)
	}
	return e.s.Login(t, name, password)
}

// member binds a role as token; it returns the member's name.
func (e *rbacEnv) member(t *testing.T, token string, req herdapi.MemberRequest, want int) string {
	t.Helper()
	code, body := e.s.Do(t, "POST", "/v1/members", token, req)
	herdtest.Expect(t, fmt.Sprintf("add member %+v", req), code, body, want)
	var m herdapi.Member
	_ = decode(body, &m)
	return m.Name
}

// can runs kubectl as token against west and reports whether it was allowed.
func (e *rbacEnv) can(t *testing.T, token string, args ...string) error {
	_, errOut, err := e.kubectl(t, token).Exec(args...)
	switch {
	case err == nil:
		return nil
	case strings.Contains(errOut, "Forbidden") || strings.Contains(errOut, "forbidden"):
		return errForbidden
	case strings.Contains(errOut, "cluster not found"):
		return errForbidden // no role in the cluster at all: Herd hides it
	}
	t.Fatalf("kubectl %v: %v %s", args, err, errOut)
	return nil
}

var errForbidden = errors.New("forbidden")

func allowed(e *rbacEnv, t *testing.T, token string, args ...string) func() error {
	return func() error { return e.can(t, token, args...) }
}

func forbidden(e *rbacEnv, t *testing.T, token string, args ...string) func() error {
	return func() error {
		if err := e.can(t, token, args...); err != errForbidden {
			return fmt.Errorf("kubectl %v was allowed", args)
		}
		return nil
	}
}

func TestRBAC(t *testing.T) {
	e := &rbacEnv{env: newEnv(t, "west"),
		down: herdtest.Kubectl{Kubeconfig: clusters.Get("west").KubeconfigPath()},
		mgmt: herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}}
	code, body := e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "apps", ClusterName: "west"})
	herdtest.Expect(t, "create project", code, body, http.StatusCreated)
	for _, ns := range []string{"apps-a", "apps-b"} {
		code, body := e.s.Do(t, "POST", "/v1/projects/apps/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: ns, Create: true})
		herdtest.Expect(t, "add namespace "+ns, code, body, http.StatusOK)
	}
	e.down.Run(t, "create", "namespace", "other")
	pat := e.user(t, "pat")
	// pat and gus also see the cluster's nodes: Herd's proxy lets them in,
	// so every refusal below is the downstream RBAC's.
	e.member(t, e.admin, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "view-nodes", Username: "pat"}, http.StatusCreated)
	patMember := e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "project-member", Username: "pat"}, http.StatusCreated)

	t.Run("a project member works in the project's namespaces only", func(t *testing.T) {
		herdtest.Eventually(t, "pat lists pods in apps-a", 5*time.Second, allowed(e, t, pat, "get", "pods", "-n", "apps-a"))
		herdtest.Eventually(t, "pat lists pods in apps-b", 5*time.Second, allowed(e, t, pat, "get", "pods", "-n", "apps-b"))
		for _, args := range [][]string{{"get", "pods", "-n", "other"}, {"get", "pods", "-A"}, {"get", "secrets", "-n", "default"}, {"delete", "node", "west-node-1"}} {
			if err := e.can(t, pat, args...); err != errForbidden {
				t.Errorf("pat: kubectl %v: got %v, want forbidden", args, err)
			}
		}
		e.down.Run(t, "-n", "apps-a", "create", "configmap", "hello", "--from-literal=a=b")
		if out := e.kubectl(t, pat).Run(t, "-n", "apps-a", "get", "configmap", "hello", "-o", "jsonpath={.data.a}"); out != "b" {
			t.Errorf("pat reads a configmap of apps-a: %q", out)
		}
	})

	t.Run("namespaces that join later are covered and those that leave are not", func(t *testing.T) {
		code, body := e.s.Do(t, "POST", "/v1/projects/apps/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "other"})
		herdtest.Expect(t, "move other into apps", code, body, http.StatusOK)
		herdtest.Eventually(t, "pat lists pods in other", 5*time.Second, allowed(e, t, pat, "get", "pods", "-n", "other"))
		code, body = e.s.Do(t, "DELETE", "/v1/projects/apps/namespaces/other", e.admin, nil)
		herdtest.Expect(t, "take other out of apps", code, body, http.StatusNoContent)
		took := herdtest.Eventually(t, "pat loses other", 5*time.Second, forbidden(e, t, pat, "get", "pods", "-n", "other"))
		t.Logf("namespace left the project; access gone after %s", took)
		if out := e.down.Run(t, "get", "rolebindings", "-n", "other", "-l", "management.herd.dev/source", "-o", "name"); out != "" {
			t.Errorf("rolebindings left in a namespace that left the project: %s", out)
		}
		herdtest.Eventually(t, "project status lists its namespaces", 10*time.Second, func() error {
			_, body := e.s.Do(t, "GET", "/v1/projects/apps", e.admin, nil)
			var p herdapi.Project
			if err := decode(body, &p); err != nil || strings.Join(p.Namespaces, ",") != "apps-a,apps-b" {
				return fmt.Errorf("project: %s", body)
			}
			return nil
		})
	})

	t.Run("a binding to a group works for the group's members", func(t *testing.T) {
		gus := e.user(t, "gus")
		e.member(t, e.admin, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "view-nodes", Username: "gus"}, http.StatusCreated)
		e.setGroups(t, "gus", "openldap_group://cn=devs,ou=groups,dc=herd,dc=test")
		if err := e.can(t, gus, "get", "pods", "-n", "apps-a"); err != errForbidden {
			t.Fatalf("gus before the group binding: %v, want forbidden", err)
		}
		e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "read-only", Group: "openldap_group://cn=devs,ou=groups,dc=herd,dc=test"}, http.StatusCreated)
		herdtest.Eventually(t, "gus lists pods through his group", 5*time.Second, allowed(e, t, gus, "get", "pods", "-n", "apps-a"))
		if err := e.can(t, gus, "-n", "apps-a", "create", "configmap", "x"); err != errForbidden {
			t.Errorf("read-only gus creates a configmap: %v", err)
		}
		e.setGroups(t, "gus")
		herdtest.Eventually(t, "gus out of the group loses access", 5*time.Second, forbidden(e, t, gus, "get", "pods", "-n", "apps-a"))
	})

	t.Run("editing a role template changes what its holders can do", func(t *testing.T) {
		e.applyMgmt(t, roleTemplate("cm-reader", "project", `[{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]`, ""))
		rita := e.user(t, "rita")
		e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "cm-reader", Username: "rita"}, http.StatusCreated)
		herdtest.Eventually(t, "rita lists configmaps", 5*time.Second, allowed(e, t, rita, "get", "configmaps", "-n", "apps-a"))
		if err := e.can(t, rita, "get", "secrets", "-n", "apps-a"); err != errForbidden {
			t.Fatalf("rita lists secrets before the edit: %v", err)
		}
		e.applyMgmt(t, roleTemplate("cm-reader", "project", `[{apiGroups: [""], resources: [configmaps, secrets], verbs: [get, list]}]`, ""))
		took := herdtest.Eventually(t, "rita lists secrets after the edit", 5*time.Second, allowed(e, t, rita, "get", "secrets", "-n", "apps-a"))
		t.Logf("role template edit took effect after %s", took)
	})

	t.Run("removing a binding takes effect within 2 s", func(t *testing.T) {
		code, body := e.s.Do(t, "DELETE", "/v1/members/"+patMember, e.admin, nil)
		herdtest.Expect(t, "remove pat", code, body, http.StatusNoContent)
		took := herdtest.Eventually(t, "pat loses apps-a", 5*time.Second, forbidden(e, t, pat, "get", "pods", "-n", "apps-a"))
		if took > 2*time.Second {
			t.Errorf("removing a binding took %s, want under 2 s", took)
		}
		if out := e.down.Run(t, "get", "rolebindings", "-A", "-l", "management.herd.dev/owner="+patMember, "-o", "name"); out != "" {
			t.Errorf("role bindings of a removed member are left: %s", out)
		}
		t.Logf("binding removal took effect after %s", took)
	})

	t.Run("cluster status", func(t *testing.T) { e.testClusterStatus(t) })
	t.Run("drift is repaired", func(t *testing.T) { e.testDrift(t) })
	t.Run("no escalation", func(t *testing.T) { e.testEscalation(t) })
	t.Run("bad input", func(t *testing.T) { e.testBadInput(t) })
}
