package main

import (
	"testing"

	"herd.dev/herd/internal/herdclient"
	"herd.dev/herd/internal/herdtest"
)

func TestUsersRefreshAndGroups(t *testing.T) {
	c := newCLI(t)
	c.browser = newUserBrowser(c, "octocat").open
	c.ok("", "login", c.srv.URL, "--provider", "github", "--ca-checksum", herdclient.Checksum(c.srv.CAPEM()))
	c.login("alice", "s3cret")
	// octocat leaves org globex and team acme/ops at GitHub.
	c.srv.github.AddUser(herdtest.GitHubUser{ID: 1001, Login: "octocat", Name: "The Octocat", Orgs: []string{"acme"}, Teams: []string{"acme/devs"}})
	// Users of identity providers are named by their User id.
	octocat := userNamed(t, c, "octocat")
	c.runTests(t, []cmdTest{
		{name: "get shows the groups of the login", args: []string{"users", "get", octocat}, stdout: "" +
			"Username:       octocat\n" +
			"Name:           " + octocat + "\n" +
			"Display name:   The Octocat\n" +
			"Enabled:        true\n" +
			"Global roles:   user\n" +
			"Principals:     github_user://1001\n" +
			"Groups:         github_org://9001\n" +
			"                github_org://9002\n" +
			"                github_team://7001\n" +
			"                github_team://7002\n" +
			"Age:            0s\n",
			requests: []string{"GET /v1/users/" + octocat}},
		{name: "refresh", args: []string{"users", "refresh", octocat}, stdout: "" +
			"Username:   octocat\n" +
			"Groups:     github_org://9001\n" +
			"            github_team://7001\n",
			requests: []string{"POST /v1/users/" + octocat + "/refresh"}},
		{name: "refresh a local user", args: []string{"users", "refresh", "alice"}, stdout: "" +
			"Username:   alice\n" +
			"Groups:     -\n",
			requests: []string{"POST /v1/users/alice/refresh"}},
		{name: "refresh unknown", args: []string{"users", "refresh", "zed"}, wantErr: true,
			stdout: "user zed not found: see `herdctl users list`", requests: []string{"POST /v1/users/zed/refresh"}},
	})
	if out := c.ok("", "users", "list"); !containsLine(out, "octocat", octocat, "The", "Octocat", "true", "user", "2") {
		t.Errorf("list: got\n%s\nwant octocat with 2 groups", out)
	}
	c.login("bob", "hunter2")
	c.fails("forbidden: ask an administrator", "", "users", "refresh", octocat)
}
