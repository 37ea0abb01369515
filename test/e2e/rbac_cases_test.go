package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// setGroups records a user's groups as an identity provider would.
func (e *rbacEnv) setGroups(t *testing.T, username string, groups ...string) {
	t.Helper()
	if groups == nil {
		groups = []string{}
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"groupPrincipals": groups}})
	e.mgmt.Run(t, "patch", "users.management.herd.dev", authn.UserObjectName(username), "--subresource=status", "--type=merge", "-p", string(patch))
}

func (e *rbacEnv) applyMgmt(t *testing.T, manifest string) {
	t.Helper()
	if _, errOut, err := e.mgmt.ExecStdin(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply %s: %v %s", manifest, err, errOut)
	}
}

func roleTemplate(name, context, rules, inherits string) string {
	m := "apiVersion: management.herd.dev/v1\nkind: RoleTemplate\nmetadata: {name: " + name + "}\nspec:\n  context: " + context + "\n"
	if rules != "" {
		m += "  rules: " + rules + "\n"
	}
	if inherits != "" {
		m += "  roleTemplateNames: " + inherits + "\n"
	}
	return m
}

// condition reads the Ready condition's reason of a management object.
func (e *rbacEnv) readyReason(t *testing.T, resource, name string) string {
	return e.mgmt.Run(t, "get", resource, name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
}

func (e *rbacEnv) waitReason(t *testing.T, resource, name, want string) {
	t.Helper()
	herdtest.Eventually(t, resource+" "+name+" Ready reason "+want, 10*time.Second, func() error {
		if got := e.readyReason(t, resource, name); got != want {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
}

func (e *rbacEnv) testDrift(t *testing.T) {
	pat := e.user(t, "pat") // a view-nodes member of west since the start
	herdtest.Eventually(t, "pat lists nodes", 5*time.Second, allowed(e, t, pat, "get", "nodes"))
	crb := strings.TrimPrefix(e.down.Run(t, "get", "clusterrolebindings", "-l", "management.herd.dev/owner", "-o", "name",
		"-l", "management.herd.dev/source=crtb"), "clusterrolebinding.rbac.authorization.k8s.io/")
	crb = strings.Fields(crb)[0]
	rb := strings.Fields(e.down.Run(t, "-n", "apps-a", "get", "rolebindings", "-l", "management.herd.dev/source=prtb", "-o", "name"))[0]
	e.down.Run(t, "delete", "clusterrolebinding", crb)
	e.down.Run(t, "-n", "apps-a", "delete", rb)
	e.down.Run(t, "patch", "clusterrole", "herd-rt-cm-reader", "--type=json", "-p", `[{"op":"replace","path":"/rules","value":[]}]`)
	took := herdtest.Eventually(t, "drift repaired", 10*time.Second, func() error {
		if _, _, err := e.down.Exec("get", "clusterrolebinding", crb); err != nil {
			return fmt.Errorf("clusterrolebinding %s not back", crb)
		}
		if _, _, err := e.down.Exec("-n", "apps-a", "get", rb); err != nil {
			return fmt.Errorf("%s not back", rb)
		}
		if rules := e.down.Run(t, "get", "clusterrole", "herd-rt-cm-reader", "-o", "jsonpath={.rules}"); !strings.Contains(rules, "secrets") {
			return fmt.Errorf("clusterrole rules not back: %s", rules)
		}
		return nil
	})
	t.Logf("deleted and edited objects put back after %s", took)

	// An object with Herd's name but not Herd's label is left alone.
	e.down.Run(t, "create", "clusterrole", "herd-rt-squatter", "--verb=get", "--resource=pods")
	e.applyMgmt(t, roleTemplate("squatter", "cluster", `[{apiGroups: [""], resources: ["*"], verbs: ["*"]}]`, ""))
	herdtest.Eventually(t, "name conflict reported", 10*time.Second, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/west", e.admin, nil)
		if !strings.Contains(string(body), "herd-rt-squatter") {
			return fmt.Errorf("cluster: %s", body)
		}
		return nil
	})
	if rules := e.down.Run(t, "get", "clusterrole", "herd-rt-squatter", "-o", "jsonpath={.rules[0].resources}"); rules != `["pods"]` {
		t.Errorf("Herd changed an object it does not own: rules %s", rules)
	}
	e.mgmt.Run(t, "delete", "roletemplate", "squatter")
	time.Sleep(time.Second)
	if _, _, err := e.down.Exec("get", "clusterrole", "herd-rt-squatter"); err != nil {
		t.Errorf("Herd deleted an object it does not own: %v", err)
	}
	e.down.Run(t, "delete", "clusterrole", "herd-rt-squatter")
}

func (e *rbacEnv) testEscalation(t *testing.T) {
	mia := e.user(t, "mia")
	e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "project-owner", Username: "mia"}, http.StatusCreated)
	e.user(t, "vic")
	// A project owner manages the project's members, with any project role she holds.
	e.member(t, mia, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "project-member", Username: "vic"}, http.StatusCreated)
	// She does not manage the cluster's.
	e.member(t, mia, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "cluster-owner", Username: "mia"}, http.StatusForbidden)
	// Nor move the cluster's namespaces into her project, through Herd or
	// by relabelling one of hers with kubectl.
	e.down.Run(t, "create", "namespace", "mias-target")
	code, body := e.s.Do(t, "POST", "/v1/projects/apps/namespaces", mia, herdapi.ProjectNamespaceRequest{Namespace: "mias-target"})
	herdtest.Expect(t, "project owner moves a namespace into her project", code, body, http.StatusForbidden)
	herdtest.Eventually(t, "mia owns apps-a", 5*time.Second, allowed(e, t, mia, "get", "secrets", "-n", "apps-a"))
	_, errOut, err := e.kubectl(t, mia).Exec("label", "namespace", "apps-a", "management.herd.dev/project=tools", "--overwrite")
	if err == nil || !strings.Contains(errOut, "only Herd moves namespaces") {
		t.Errorf("project owner relabels her namespace: %v %s, want the admission policy's refusal", err, errOut)
	}
	e.testProjectBoundaries(t, mia)

	// A restricted administrator owns every downstream cluster, not the management cluster.
	ria := e.user(t, "ria")
	e.applyMgmt(t, `apiVersion: management.herd.dev/v1
kind: GlobalRoleBinding
metadata: {name: ria-restricted-admin}
spec: {globalRoleName: restricted-admin, subject: {userName: `+authn.UserObjectName("ria")+`}}
`)
	herdtest.Eventually(t, "ria administers west", 5*time.Second, allowed(e, t, ria, "get", "secrets", "-A"))
	if code := rawGet(t, e.env, ria, "/api/v1/namespaces", nil, "local"); code != http.StatusNotFound {
		t.Errorf("restricted admin on the management cluster: got %d, want 404", code)
	}
	e.member(t, ria, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "cluster-owner", Username: "ria"}, http.StatusCreated)

	// lea may add members, but holds only what pod-viewer grants.
	e.applyMgmt(t, roleTemplate("pod-viewer", "project", `[{apiGroups: [""], resources: [pods], verbs: [get, list]}]`, ""))
	e.applyMgmt(t, roleTemplate("delegator", "project",
		`[{apiGroups: [management.herd.dev], resources: [projectroletemplatebindings], verbs: [create]}]`, "[pod-viewer]"))
	lea := e.user(t, "lea")
	e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "delegator", Username: "lea"}, http.StatusCreated)
	code, body = e.s.Do(t, "POST", "/v1/members", lea, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "project-member", Username: "lea"})
	herdtest.Expect(t, "lea grants herself project-member", code, body, http.StatusForbidden)
	if !strings.Contains(string(body), "do not hold") {
		t.Errorf("escalation refusal says why: %s", body)
	}
	e.member(t, lea, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "pod-viewer", Username: "vic"}, http.StatusCreated)
	// A user with no role anywhere cannot even see the project.
	code, body = e.s.Do(t, "POST", "/v1/members", e.user(t, "nobody"), herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "read-only", Username: "nobody"})
	herdtest.Expect(t, "a stranger adds herself", code, body, http.StatusNotFound)
	// Bindings made by kubectl on the management cluster are checked by RBAC there: only admins reach it.
	if code := rawGet(t, e.env, lea, "/apis/management.herd.dev/v1/projectroletemplatebindings", nil, "local"); code != http.StatusNotFound {
		t.Errorf("lea reaches the management cluster: %d", code)
	}
}

func (e *rbacEnv) testBadInput(t *testing.T) {
	cases := []struct {
		name string
		req  herdapi.MemberRequest
		want int
	}{
		{"missing role template", herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "nope", Username: "pat"}, http.StatusUnprocessableEntity},
		{"missing project", herdapi.MemberRequest{ProjectName: "nope", RoleTemplate: "read-only", Username: "pat"}, http.StatusNotFound},
		{"missing user", herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "read-only", Username: "nope"}, http.StatusUnprocessableEntity},
		{"cluster role in a project", herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "cluster-owner", Username: "pat"}, http.StatusUnprocessableEntity},
		{"both scopes", herdapi.MemberRequest{ClusterName: "west", ProjectName: "apps", RoleTemplate: "read-only", Username: "pat"}, http.StatusUnprocessableEntity},
		{"user and group", herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "read-only", Username: "pat", Group: "g"}, http.StatusUnprocessableEntity},
		{"duplicate", herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "cm-reader", Username: "rita"}, http.StatusConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { e.member(t, e.admin, tc.req, tc.want) })
	}
	t.Run("a namespace in two projects", func(t *testing.T) {
		code, body := e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "tools", ClusterName: "west"})
		herdtest.Expect(t, "create tools", code, body, http.StatusCreated)
		code, body = e.s.Do(t, "POST", "/v1/projects/tools/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "apps-a"})
		herdtest.Expect(t, "apps-a into tools", code, body, http.StatusConflict)
		if got := e.down.Run(t, "get", "namespace", "apps-a", "-o", "jsonpath={.metadata.labels.management\\.herd\\.dev/project}"); got != "apps" {
			t.Errorf("apps-a is now in project %q, want apps", got)
		}
	})
	t.Run("groups of Kubernetes or Herd", func(t *testing.T) {
		for _, g := range []string{"system:authenticated", "system:serviceaccounts", "herd:global-admins", "devs"} {
			e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "read-only", Group: g}, http.StatusUnprocessableEntity)
		}
	})
	t.Run("system namespaces in a project", func(t *testing.T) {
		for _, ns := range []string{"kube-system", "herd-system", "default"} {
			code, body := e.s.Do(t, "POST", "/v1/projects/apps/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: ns})
			herdtest.Expect(t, ns+" into a project", code, body, http.StatusUnprocessableEntity)
		}
	})
	t.Run("a project name used again", func(t *testing.T) {
		code, body := e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "reuse", ClusterName: "west"})
		herdtest.Expect(t, "create reuse", code, body, http.StatusCreated)
		code, body = e.s.Do(t, "POST", "/v1/projects/reuse/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "reuse-a", Create: true})
		herdtest.Expect(t, "reuse-a into reuse", code, body, http.StatusOK)
		// Deleted behind Herd's back: the namespace keeps its labels.
		e.mgmt.Run(t, "delete", "project", "reuse")
		code, body = e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "reuse", ClusterName: "west"})
		herdtest.Expect(t, "create reuse again", code, body, http.StatusCreated)
		e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "reuse", RoleTemplate: "project-owner", Username: "pat"}, http.StatusCreated)
		time.Sleep(500 * time.Millisecond)
		if err := e.can(t, e.user(t, "pat"), "get", "secrets", "-n", "reuse-a"); err != errForbidden {
			t.Errorf("the new project reuse inherited the old one's namespace: %v", err)
		}
		_, body = e.s.Do(t, "GET", "/v1/projects/reuse", e.admin, nil)
		var p herdapi.Project
		if decode(body, &p); len(p.Namespaces) != 0 {
			t.Errorf("new project reuse lists namespaces %v", p.Namespaces)
		}
		// It can take the namespace in explicitly, and then its owner reaches it.
		code, body = e.s.Do(t, "POST", "/v1/projects/reuse/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "reuse-a"})
		herdtest.Expect(t, "reuse-a into the new reuse", code, body, http.StatusOK)
		herdtest.Eventually(t, "pat owns reuse-a once it is added", 5*time.Second, allowed(e, t, e.user(t, "pat"), "get", "secrets", "-n", "reuse-a"))
	})
	t.Run("an inheritance cycle", func(t *testing.T) {
		e.applyMgmt(t, roleTemplate("loop-a", "project", "", "[loop-b]")+"---\n"+roleTemplate("loop-b", "project", "", "[loop-a]")+
			"---\n"+roleTemplate("loop-self", "project", "", "[loop-self]"))
		e.waitReason(t, "roletemplate", "loop-a", "InheritanceCycle")
		e.waitReason(t, "roletemplate", "loop-self", "InheritanceCycle")
		e.member(t, e.admin, herdapi.MemberRequest{ProjectName: "apps", RoleTemplate: "loop-a", Username: "pat"}, http.StatusUnprocessableEntity)
	})
	t.Run("a binding made with kubectl to a missing role template", func(t *testing.T) {
		e.applyMgmt(t, `apiVersion: management.herd.dev/v1
kind: ClusterRoleTemplateBinding
metadata: {name: dangling}
spec: {clusterName: west, roleTemplateName: does-not-exist, subject: {userName: `+authn.UserObjectName("pat")+`}}
`)
		e.waitReason(t, "clusterroletemplatebinding", "dangling", "RoleTemplateNotFound")
		e.mgmt.Run(t, "delete", "clusterroletemplatebinding", "dangling")
	})
	t.Run("a binding for an offline cluster applies when it is back", func(t *testing.T) {
		e.stopAgent()
		e.waitConnected(t, "False")
		ola := e.user(t, "ola")
		name := e.member(t, e.admin, herdapi.MemberRequest{ClusterName: "west", RoleTemplate: "view-nodes", Username: "ola"}, http.StatusCreated)
		e.waitReason(t, "clusterroletemplatebinding", name, "ClusterOffline")
		e.startAgent(t)
		e.waitConnected(t, "True")
		herdtest.Eventually(t, "ola lists nodes", 10*time.Second, allowed(e, t, ola, "get", "nodes"))
		e.waitReason(t, "clusterroletemplatebinding", name, "Valid")
	})
}

// testProjectBoundaries: a project owner (mia, of apps) cannot move her
// namespaces by their status or finalize subresources either, nor change
// their pod security labels, which a cluster owner can; the cluster shows
// that it enforces this, and puts the policy back when it is deleted.
func (e *rbacEnv) testProjectBoundaries(t *testing.T, mia string) {
	moved := `{"metadata":{"labels":{"management.herd.dev/project":"tools"}}}`
	_, errOut, err := e.kubectl(t, mia).Exec("patch", "namespace", "apps-a", "--subresource=status", "--type=merge", "-p", moved)
	if err == nil || !strings.Contains(errOut, "only Herd moves namespaces") {
		t.Errorf("project owner relabels her namespace through its status: %v %s, want the admission policy's refusal", err, errOut)
	}
	raw := e.kubectl(t, mia).Run(t, "get", "namespace", "apps-a", "-o", "json")
	var ns map[string]any
	if err := json.Unmarshal([]byte(raw), &ns); err != nil {
		t.Fatal(err)
	}
	ns["metadata"].(map[string]any)["labels"].(map[string]any)["management.herd.dev/project"] = "tools"
	data, _ := json.Marshal(ns)
	file := filepath.Join(t.TempDir(), "ns.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = e.kubectl(t, mia).Exec("replace", "--raw", "/api/v1/namespaces/apps-a/finalize", "-f", file)
	if err == nil || !strings.Contains(errOut, "only Herd moves namespaces") {
		t.Errorf("project owner relabels her namespace through finalize: %v %s, want the admission policy's refusal", err, errOut)
	}
	if got := e.down.Run(t, "get", "namespace", "apps-a", "-o", "jsonpath={.metadata.labels.management\\.herd\\.dev/project}"); got != "apps" {
		t.Errorf("apps-a is in project %q, want apps", got)
	}

	const psa = "pod-security.kubernetes.io/enforce"
	_, errOut, err = e.kubectl(t, mia).Exec("label", "namespace", "apps-a", psa+"=privileged", "--overwrite")
	if err == nil || !strings.Contains(errOut, "updatepsa") {
		t.Errorf("project owner lifts her namespace's pod security: %v %s, want the admission policy's refusal", err, errOut)
	}
	e.kubectl(t, e.admin).Run(t, "label", "namespace", "apps-a", psa+"=baseline", "--overwrite")
	e.kubectl(t, e.admin).Run(t, "label", "namespace", "apps-a", psa+"-")

	guard := func() string {
		return e.mgmt.Run(t, "get", "clusters.management.herd.dev", "west", "-o", `jsonpath={.status.conditions[?(@.type=="ProjectGuard")].status}`)
	}
	herdtest.Eventually(t, "west shows that it enforces project boundaries", 10*time.Second, func() error {
		if got := guard(); got != "True" {
			return fmt.Errorf("ProjectGuard %q", got)
		}
		return nil
	})
	e.down.Run(t, "delete", "validatingadmissionpolicybinding", "herd-project-labels")
	herdtest.Eventually(t, "the deleted policy binding is put back", 15*time.Second, func() error {
		_, _, err := e.down.Exec("get", "validatingadmissionpolicybinding", "herd-project-labels")
		return err
	})
}
