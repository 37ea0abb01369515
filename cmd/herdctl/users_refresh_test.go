package main

import (
	"testing"
)

func TestUsersRefreshAndGroups(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.runTests(t, []cmdTest{
		{name: "refresh", args: []string{"users", "refresh", "bob"}, stdout: "" +
			"Username:   bob\n" +
			"Groups:     github_org://1\n" +
			"            github_team://7\n",
			requests: []string{"POST /v1/users/bob/refresh"}},
		{name: "refresh a local user", args: []string{"users", "refresh", "alice"}, stdout: "" +
			"Username:   alice\n" +
			"Groups:     -\n",
			requests: []string{"POST /v1/users/alice/refresh"}},
		{name: "refresh unknown", args: []string{"users", "refresh", "zed"}, wantErr: true,
			stdout: "user zed not found: see `herdctl users list`", requests: []string{"POST /v1/users/zed/refresh"}},
		{name: "get shows groups", args: []string{"users", "get", "bob"}, stdout: "" +
			"Username:       bob\n" +
			"Name:           u-bob\n" +
			"Display name:   -\n" +
			"Enabled:        true\n" +
			"Global roles:   user\n" +
			"Principals:     -\n" +
			"Groups:         github_org://1\n" +
			"                github_team://7\n" +
			"Age:            2d\n",
			requests: []string{"GET /v1/users/bob"}},
		{name: "list counts groups", args: []string{"users", "list"}, stdout: "" +
			"USERNAME   NAME      DISPLAY NAME   ENABLED   GLOBAL ROLES   GROUPS   AGE\n" +
			"alice      u-alice   Alice          true      admin          0        2d\n" +
			"bob        u-bob     -              true      user           2        2d\n",
			requests: []string{"GET /v1/users"}},
	})
	c.login("bob", "hunter2")
	c.fails("forbidden: ask an administrator", "", "users", "refresh", "bob")
}
