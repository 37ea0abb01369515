package main

import (
	"encoding/json"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestUsers(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")

	out := c.ok("pw-carol\n", "users", "create", "carol", "--display-name", "Carol", "--password-stdin", "--global-role", "user", "--global-role", "auditor")
	if !strings.Contains(out, "carol      u-carol   Carol          true      user,auditor   0        0s") {
		t.Errorf("create: got\n%s", out)
	}
	var req herdapi.UserCreateRequest
	_ = json.Unmarshal([]byte(c.srv.find("POST", "/v1/users")[0].Body), &req)
	if req.Username != "carol" || req.Password != "pw-carol" || req.DisplayName != "Carol" || strings.Join(req.GlobalRoles, ",") != "user,auditor" {
		t.Errorf("create body: got %+v", req)
	}

	want := "" +
		"USERNAME   NAME      DISPLAY NAME   ENABLED   GLOBAL ROLES   GROUPS   AGE\n" +
		"alice      u-alice   Alice          true      admin          0        2d\n" +
		"bob        u-bob     -              true      user           0        2d\n" +
		"carol      u-carol   Carol          true      user,auditor   0        0s\n"
	if got := c.ok("", "users", "list"); got != want {
		t.Errorf("list: got\n%s\nwant\n%s", got, want)
	}

	if out := c.ok("", "users", "disable", "bob"); out != "user bob disabled\n" {
		t.Errorf("disable: got %q", out)
	}
	if out := c.ok("", "users", "enable", "bob"); out != "user bob enabled\n" {
		t.Errorf("enable: got %q", out)
	}
	patches := c.srv.find("PATCH", "/v1/users/bob")
	if len(patches) != 2 || patches[0].Body != `{"enabled":false}` || patches[1].Body != `{"enabled":true}` {
		t.Errorf("patches: got %+v", patches)
	}

	// An admin sets bob's password with one line; alice changes her own with two.
	c.ok("new-bob\n", "users", "set-password", "bob", "--password-stdin")
	c.ok("s3cret\nnew-alice\n", "users", "set-password", "alice", "--password-stdin")
	bodies := []string{c.srv.find("PUT", "/v1/users/bob/password")[0].Body, c.srv.find("PUT", "/v1/users/alice/password")[0].Body}
	if bodies[0] != `{"password":"new-bob"}` || bodies[1] != `{"currentPassword":"s3cret","password":"new-alice"}` {
		t.Errorf("password bodies: got %v", bodies)
	}
	c.fails("password not changed: the current password is wrong", "wrong\nnewer\n", "users", "set-password", "alice", "--password-stdin")
	c.fails("no new password on stdin", "new-alice\n", "users", "set-password", "alice", "--password-stdin")

	if out := c.ok("", "users", "delete", "carol"); out != "user carol deleted\n" {
		t.Errorf("delete: got %q", out)
	}
	c.fails("user carol not found: see `herdctl users list`", "", "users", "delete", "carol")
	c.fails("user bob already exists: see `herdctl users list`", "pw\n", "users", "create", "bob", "--password-stdin")
}

func TestUsersCreatePromptsTwice(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.terminal = []string{"one", "two"}
	c.fails("the two passwords differ", "", "users", "create", "dave")
	c.terminal = []string{"same", "same"}
	c.ok("", "users", "create", "dave")
	if got := c.srv.passwords["dave"]; got != "same" {
		t.Errorf("password: got %q, want same", got)
	}
}
