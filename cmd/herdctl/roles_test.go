package main

import (
	"encoding/json"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

func TestRoles(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	c.srv.Put(t, &v1.RoleTemplate{ObjectMeta: metav1.ObjectMeta{Name: "scrape-metrics"}, Spec: v1.RoleTemplateSpec{Context: v1.ContextCluster,
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics", "/metrics/cadvisor"}}}},
		Status: v1.Status{Conditions: []metav1.Condition{condition(v1.ConditionReady, metav1.ConditionTrue, "")}}})
	pods, deploy := rules()
	webDev, _ := json.MarshalIndent(herdapi.Role{
		Name: "web-dev", Context: "project", Inherits: []string{"view-pods"},
		Rules:          []rbacv1.PolicyRule{deploy},
		EffectiveRules: []rbacv1.PolicyRule{deploy, pods},
		Ready:          "True",
	}, "", "  ")
	c.runTests(t, []cmdTest{
		{name: "list", args: []string{"roles", "list"}, stdout: "" +
			"NAME               CONTEXT   BUILTIN   INHERITS                          READY\n" +
			"admin              global    true      -                                 True\n" +
			"restricted-admin   global    true      -                                 True\n" +
			"user               global    true      -                                 True\n" +
			"user-base          global    true      -                                 True\n" +
			"cluster-member     cluster   true      view-nodes                        True\n" +
			"cluster-owner      cluster   true      -                                 True\n" +
			"scrape-metrics     cluster   false     -                                 True\n" +
			"view-nodes         cluster   true      -                                 True\n" +
			"broken             project   false     gone                              False\n" +
			"manage-secrets     project   true      -                                 True\n" +
			"manage-workloads   project   true      view-workloads                    True\n" +
			"project-member     project   true      manage-workloads,manage-secrets   True\n" +
			"project-owner      project   true      -                                 True\n" +
			"read-only          project   true      view-workloads                    True\n" +
			"view-pods          project   false     -                                 True\n" +
			"view-workloads     project   true      -                                 True\n" +
			"web-dev            project   false     view-pods                         True\n",
			requests: []string{"GET /v1/roles"}},
		{name: "show", args: []string{"roles", "show", "web-dev"}, stdout: "" +
			"Name:           web-dev\n" +
			"Display name:   -\n" +
			"Context:        project\n" +
			"Builtin:        false\n" +
			"Inherits:       view-pods\n" +
			"Ready:          True\n" +
			"\n" +
			"Rules:\n" +
			"VERBS   API GROUPS   RESOURCES     RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*       apps         deployments   web\n" +
			"\n" +
			"Effective rules:\n" +
			"VERBS            API GROUPS   RESOURCES       RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*                apps         deployments     web\n" +
			"get,list,watch   core         pods,pods/log   -\n",
			requests: []string{"GET /v1/roles/web-dev"}},
		{name: "show a role that is not ready", args: []string{"roles", "get", "broken"}, stdout: "" +
			"Name:           broken\n" +
			"Display name:   -\n" +
			"Context:        project\n" +
			"Builtin:        false\n" +
			"Inherits:       gone\n" +
			"Ready:          False\n" +
			"Message:        role template gone does not exist\n" +
			"\n" +
			"Rules: none\n" +
			"\n" +
			"Effective rules: none\n",
			requests: []string{"GET /v1/roles/broken"}},
		{name: "non-resource rules", args: []string{"roles", "show", "scrape-metrics"}, stdout: "" +
			"Name:           scrape-metrics\n" +
			"Display name:   -\n" +
			"Context:        cluster\n" +
			"Builtin:        false\n" +
			"Inherits:       -\n" +
			"Ready:          True\n" +
			"\n" +
			"Rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"get     -            -           /metrics,/metrics/cadvisor\n" +
			"\n" +
			"Effective rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"get     -            -           /metrics,/metrics/cadvisor\n",
			requests: []string{"GET /v1/roles/scrape-metrics"}},
		{name: "a global role", args: []string{"roles", "show", "admin"}, stdout: "" +
			"Name:           admin\n" +
			"Display name:   Administrator\n" +
			"Context:        global\n" +
			"Builtin:        true\n" +
			"Inherits:       -\n" +
			"Ready:          True\n" +
			"\n" +
			"Rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*       *            *           -\n" +
			"\n" +
			"Effective rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*       *            *           -\n",
			requests: []string{"GET /v1/roles/admin"}},
		{name: "show json", args: []string{"roles", "show", "web-dev", "-o", "json"}, stdout: string(webDev) + "\n",
			requests: []string{"GET /v1/roles/web-dev"}},
		{name: "show unknown", args: []string{"roles", "show", "nope"}, wantErr: true,
			stdout: "role nope not found: see `herdctl roles list`", requests: []string{"GET /v1/roles/nope"}},
		{name: "show without name", args: []string{"roles", "show"}, wantErr: true,
			stdout: "missing NAME: usage: herdctl roles show NAME"},
	})
}
