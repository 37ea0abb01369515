package main

import (
	"encoding/json"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestRoles(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	webDev, _ := json.MarshalIndent(herdapi.Role{
		Name: "web-dev", Context: "project", Inherits: []string{"view-pods"},
		Rules:          c.srv.roles["web-dev"].Rules,
		EffectiveRules: append(c.srv.roles["web-dev"].Rules, c.srv.roles["view-pods"].Rules...),
		Ready:          "True",
	}, "", "  ")
	c.runTests(t, []cmdTest{
		{name: "list", args: []string{"roles", "list"}, stdout: "" +
			"NAME            CONTEXT   BUILTIN   INHERITS    READY\n" +
			"admin           global    true      -           True\n" +
			"broken          project   false     gone        False\n" +
			"cluster-owner   cluster   true      -           True\n" +
			"view-pods       project   false     -           True\n" +
			"web-dev         project   false     view-pods   True\n",
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
		{name: "non-resource rules", args: []string{"roles", "show", "admin"}, stdout: "" +
			"Name:           admin\n" +
			"Display name:   -\n" +
			"Context:        global\n" +
			"Builtin:        true\n" +
			"Inherits:       -\n" +
			"Ready:          True\n" +
			"\n" +
			"Rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*       -            -           *\n" +
			"\n" +
			"Effective rules:\n" +
			"VERBS   API GROUPS   RESOURCES   RESOURCE NAMES / NON-RESOURCE URLS\n" +
			"*       -            -           *\n",
			requests: []string{"GET /v1/roles/admin"}},
		{name: "show json", args: []string{"roles", "show", "web-dev", "-o", "json"}, stdout: string(webDev) + "\n",
			requests: []string{"GET /v1/roles/web-dev"}},
		{name: "show unknown", args: []string{"roles", "show", "nope"}, wantErr: true,
			stdout: "role nope not found: see `herdctl roles list`", requests: []string{"GET /v1/roles/nope"}},
		{name: "show without name", args: []string{"roles", "show"}, wantErr: true,
			stdout: "missing NAME: usage: herdctl roles show NAME"},
	})
}
