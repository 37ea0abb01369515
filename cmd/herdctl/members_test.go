package main

import (
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.runTests(t, []cmdTest{
		{name: "list cluster", args: []string{"members", "list", "--cluster", "prod"}, stdout: "" +
			"NAME     ROLE            USER/GROUP   SCOPE          READY\n" +
			"crtb-1   cluster-owner   user alice   cluster prod   True\n",
			requests: []string{"GET /v1/members?cluster=prod"}},
		{name: "list project", args: []string{"members", "ls", "--project", "web"}, stdout: "" +
			"NAME     ROLE        USER/GROUP             SCOPE         READY\n" +
			"prtb-1   view-pods   group local://g-devs   project web   True\n",
			requests: []string{"GET /v1/members?project=web"}},
		{name: "list unknown cluster", args: []string{"members", "list", "--cluster", "nope"}, wantErr: true,
			stdout: "cluster nope not found: see `herdctl clusters list`", requests: []string{"GET /v1/members?cluster=nope"}},
		{name: "add user to cluster", args: []string{"members", "add", "--cluster", "prod", "--role", "cluster-owner", "--user", "bob"}, stdout: "" +
			"NAME      ROLE            USER/GROUP   SCOPE          READY\n" +
			"crtb-m2   cluster-owner   user bob     cluster prod   -\n",
			requests: []string{`POST /v1/members {"clusterName":"prod","roleTemplate":"cluster-owner","username":"bob"}`}},
		{name: "add group to project", args: []string{"members", "add", "--project", "web", "--role", "web-dev", "--group", "local://g-ops"}, stdout: "" +
			"NAME      ROLE      USER/GROUP            SCOPE         READY\n" +
			"prtb-m3   web-dev   group local://g-ops   project web   -\n",
			requests: []string{`POST /v1/members {"projectName":"web","roleTemplate":"web-dev","group":"local://g-ops"}`}},
		{name: "add unknown role", args: []string{"members", "add", "--project", "web", "--role", "nope", "--user", "bob"}, wantErr: true,
			stdout:   "failed to add the member: role template nope not found: check project web (`herdctl projects list`), role nope (`herdctl roles list`) and the user or group",
			requests: []string{`POST /v1/members {"projectName":"web","roleTemplate":"nope","username":"bob"}`}},
		{name: "remove by name", args: []string{"members", "remove", "crtb-m2"}, stdout: "member crtb-m2 removed\n",
			requests: []string{"DELETE /v1/members/crtb-m2"}},
		{name: "remove unknown name", args: []string{"members", "remove", "crtb-m2"}, wantErr: true,
			stdout:   "member crtb-m2 not found: see `herdctl members list --cluster NAME` or `herdctl members list --project NAME`",
			requests: []string{"DELETE /v1/members/crtb-m2"}},
		{name: "remove by flags", args: []string{"members", "remove", "--project", "web", "--role", "web-dev", "--group", "local://g-ops"},
			stdout:   "member prtb-m3 removed\n",
			requests: []string{"GET /v1/members?project=web", "DELETE /v1/members/prtb-m3"}},
		{name: "remove by flags without match", args: []string{"members", "remove", "--cluster", "prod", "--role", "cluster-owner", "--user", "bob"}, wantErr: true,
			stdout:   "user bob has no role cluster-owner in cluster prod: see `herdctl members list --cluster prod`",
			requests: []string{"GET /v1/members?cluster=prod"}},
		{name: "remove user by flags", args: []string{"members", "remove", "--cluster", "prod", "--role", "cluster-owner", "--user", "alice"},
			stdout:   "member crtb-1 removed\n",
			requests: []string{"GET /v1/members?cluster=prod", "DELETE /v1/members/crtb-1"}},
	})
}

func TestMembersFlags(t *testing.T) {
	const (
		scope   = "--cluster or --project is required: give --cluster NAME for a cluster's members or --project NAME for a project's"
		scopes  = "--cluster and --project are exclusive: give --cluster NAME for a cluster's members or --project NAME for a project's"
		role    = "--role is required: see `herdctl roles list` for the role templates of context project"
		subject = "--user or --group is required: give --user USERNAME for a Herd user or --group PRINCIPAL for a group"
		both    = "--user and --group are exclusive: give --user USERNAME for a Herd user or --group PRINCIPAL for a group"
	)
	c := newCLI(t)
	c.login("alice", "s3cret")
	tests := []cmdTest{
		{name: "list without scope", args: []string{"members", "list"}, stdout: scope},
		{name: "list with two scopes", args: []string{"members", "list", "--cluster", "prod", "--project", "web"}, stdout: scopes},
		{name: "list with an argument", args: []string{"members", "list", "prod"}, stdout: `too many arguments ["prod"]`},
		{name: "add without scope", args: []string{"members", "add", "--role", "r", "--user", "bob"}, stdout: scope},
		{name: "add with two scopes", args: []string{"members", "add", "--cluster", "prod", "--project", "web", "--role", "r", "--user", "bob"}, stdout: scopes},
		{name: "add without role", args: []string{"members", "add", "--project", "web", "--user", "bob"}, stdout: role},
		{name: "add without user or group", args: []string{"members", "add", "--project", "web", "--role", "r"}, stdout: subject},
		{name: "add with user and group", args: []string{"members", "add", "--project", "web", "--role", "r", "--user", "bob", "--group", "g"}, stdout: both},
		{name: "remove without anything", args: []string{"members", "remove"},
			stdout: "missing NAME: give the member's NAME (see `herdctl members list --cluster NAME`) or --cluster/--project, --role and --user/--group"},
		{name: "remove with name and flags", args: []string{"members", "remove", "crtb-1", "--cluster", "prod"},
			stdout: "give the member's NAME or the flags --cluster/--project, --role and --user/--group, not both"},
		{name: "remove with two names", args: []string{"members", "remove", "a", "b"}, stdout: `too many arguments ["b"]`},
		{name: "remove by flags without role", args: []string{"members", "remove", "--project", "web", "--user", "bob"}, stdout: role},
		{name: "remove by flags without scope", args: []string{"members", "remove", "--role", "r", "--group", "g"}, stdout: scope},
	}
	for i := range tests {
		tests[i].wantErr = true
	}
	c.runTests(t, tests)
}

func TestMembersAddForbidden(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	c.runTests(t, []cmdTest{
		{name: "more than the caller holds", args: []string{"members", "add", "--cluster", "prod", "--role", "cluster-owner", "--user", "bob"}, wantErr: true,
			stdout:   "forbidden: ask an administrator (binding cluster-owner would grant more than you hold)",
			requests: []string{`POST /v1/members {"clusterName":"prod","roleTemplate":"cluster-owner","username":"bob"}`}},
	})
}

func TestMembersAddHelpNamesPrincipalsSearch(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "members", "add", "--help")
	for _, want := range []string{"find it with `herdctl principals search NAME`", "--group PRINCIPAL", "find it with: herdctl principals search NAME"} {
		if !strings.Contains(out, want) {
			t.Errorf("help: got\n%s\nwant %q in it", out, want)
		}
	}
}
