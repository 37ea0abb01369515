package main

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

func TestMembers(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	owner, viewers := c.srv.crtb, c.srv.prtb
	c.runTests(t, []cmdTest{
		{name: "list cluster", args: []string{"members", "list", "--cluster", "prod"}, stdout: "" +
			"NAME                    ROLE            USER/GROUP   SCOPE          READY\n" +
			owner + "   cluster-owner   user alice   cluster prod   True\n",
			requests: []string{"GET /v1/members?cluster=prod"}},
		{name: "list project", args: []string{"members", "ls", "--project", "web"}, stdout: "" +
			"NAME                    ROLE        USER/GROUP             SCOPE         READY\n" +
			viewers + "   view-pods   group local://g-devs   project web   True\n",
			requests: []string{"GET /v1/members?project=web"}},
		{name: "list unknown cluster", args: []string{"members", "list", "--cluster", "nope"}, wantErr: true,
			stdout: "cluster nope not found: see `herdctl clusters list`", requests: []string{"GET /v1/members?cluster=nope"}},
	})

	// New members are named by the API; they are not ready until the
	// cluster controller binds them.
	bobOwner := c.addMember(t, "cluster-owner   user bob     cluster prod   Unknown", "--cluster", "prod", "--role", "cluster-owner", "--user", "bob")
	opsDev := c.addMember(t, "web-dev   group local://g-ops   project web   Unknown", "--project", "web", "--role", "web-dev", "--group", "local://g-ops")

	c.runTests(t, []cmdTest{
		{name: "add unknown role", args: []string{"members", "add", "--project", "web", "--role", "nope", "--user", "bob"}, wantErr: true,
			stdout:   "failed to bind role nope in project web: role template nope does not exist; see `herdctl roles list`",
			requests: []string{`POST /v1/members {"projectName":"web","roleTemplate":"nope","username":"bob"}`}},
		{name: "remove by name", args: []string{"members", "remove", bobOwner}, stdout: "member " + bobOwner + " removed\n",
			requests: []string{"DELETE /v1/members/" + bobOwner}},
		{name: "remove unknown name", args: []string{"members", "remove", bobOwner}, wantErr: true,
			stdout:   "member " + bobOwner + " not found: see `herdctl members list --cluster NAME` or `herdctl members list --project NAME`",
			requests: []string{"DELETE /v1/members/" + bobOwner}},
		{name: "remove by flags", args: []string{"members", "remove", "--project", "web", "--role", "web-dev", "--group", "local://g-ops"},
			stdout:   "member " + opsDev + " removed\n",
			requests: []string{"GET /v1/members?project=web", "DELETE /v1/members/" + opsDev}},
		{name: "remove by flags without match", args: []string{"members", "remove", "--cluster", "prod", "--role", "cluster-owner", "--user", "bob"}, wantErr: true,
			stdout:   "user bob has no role cluster-owner in cluster prod: see `herdctl members list --cluster prod`",
			requests: []string{"GET /v1/members?cluster=prod"}},
		{name: "remove user by flags", args: []string{"members", "remove", "--cluster", "prod", "--role", "cluster-owner", "--user", "alice"},
			stdout:   "member " + owner + " removed\n",
			requests: []string{"GET /v1/members?cluster=prod", "DELETE /v1/members/" + owner}},
	})
}

// addMember runs `herdctl members add` with args, checks that it prints
// the member with these columns, and returns its name.
func (c *cli) addMember(t *testing.T, columns string, args ...string) string {
	t.Helper()
	out := c.ok("", append([]string{"members", "add"}, args...)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME ") {
		t.Fatalf("members add %v: got\n%s\nwant a header and the member", args, out)
	}
	name, rest, _ := strings.Cut(lines[1], " ")
	if got := strings.TrimSpace(rest); got != columns {
		t.Errorf("members add %v: got %q after the name, want %q", args, got, columns)
	}
	return name
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

// A user who may manage members binds only what they hold themselves.
func TestMembersAddForbidden(t *testing.T) {
	c := newCLI(t)
	c.srv.Put(t, &v1.RoleTemplate{ObjectMeta: metav1.ObjectMeta{Name: "member-admin"}, Spec: v1.RoleTemplateSpec{Context: v1.ContextCluster,
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"clusterroletemplatebindings"}}}},
		Status: v1.Status{Conditions: []metav1.Condition{condition(v1.ConditionReady, metav1.ConditionTrue, "")}}})
	c.login("alice", "s3cret")
	c.ok("", "members", "add", "--cluster", "prod", "--role", "member-admin", "--user", "bob")
	c.ok("", "members", "add", "--project", "web", "--role", "project-owner", "--user", "bob")
	c.login("bob", "hunter2")
	c.runTests(t, []cmdTest{
		{name: "more than the caller holds", args: []string{"members", "add", "--cluster", "prod", "--role", "cluster-owner", "--group", "local://g-ops"}, wantErr: true,
			stdout:   "forbidden: ask an administrator (role cluster-owner grants permissions you do not hold in cluster prod (* *.*; ",
			requests: []string{`POST /v1/members {"clusterName":"prod","roleTemplate":"cluster-owner","group":"local://g-ops"}`}},
		{name: "in a cluster where the caller may not", args: []string{"members", "add", "--cluster", "edge", "--role", "member-admin", "--group", "local://g-ops"}, wantErr: true,
			stdout:   "failed to add the member: cluster edge does not exist; see `herdctl clusters list`",
			requests: []string{`POST /v1/members {"clusterName":"edge","roleTemplate":"member-admin","group":"local://g-ops"}`}},
	})
	for _, args := range [][]string{
		{"--cluster", "prod", "--role", "member-admin", "--group", "local://g-ops"},
		{"--project", "web", "--role", "web-dev", "--group", "local://g-ops"},
	} {
		if out, _, err := c.run("", append([]string{"members", "add"}, args...)...); err != nil || !strings.Contains(out, "local://g-ops") {
			t.Errorf("members add %v, a role the caller holds: got %v\n%s", args, err, out)
		}
	}
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
