package main

import (
	"encoding/json"
	"strings"
	"testing"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

func TestUsers(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")

	out := c.ok("carol-password\n", "users", "create", "carol", "--display-name", "Carol", "--password-stdin", "--global-role", "user", "--global-role", "restricted-admin")
	carol := authn.UserObjectName("carol")
	if !strings.Contains(out, "carol      "+carol+"   Carol          true      restricted-admin,user   0        0s") {
		t.Errorf("create: got\n%s", out)
	}
	var req herdapi.UserCreateRequest
	_ = json.Unmarshal([]byte(c.srv.Find("POST", "/v1/users")[0].Body), &req)
	if req.Username != "carol" || req.Password != "carol-password" || req.DisplayName != "Carol" || strings.Join(req.GlobalRoles, ",") != "user,restricted-admin" {
		t.Errorf("create body: got %+v", req)
	}

	want := "" +
		"USERNAME   NAME             DISPLAY NAME   ENABLED   GLOBAL ROLES            GROUPS   AGE\n" +
		// sorted by name, which is a hash of the username
		"carol      " + carol + "   Carol          true      restricted-admin,user   0        0s\n" +
		"alice      " + c.srv.alice.Name + "   Alice          true      admin                   0        2d\n" +
		"bob        " + c.srv.bob.Name + "   -              true      user                    0        2d\n"
	if got := c.ok("", "users", "list"); got != want {
		t.Errorf("list: got\n%s\nwant\n%s", got, want)
	}

	if out := c.ok("", "users", "disable", "bob"); out != "user bob disabled\n" {
		t.Errorf("disable: got %q", out)
	}
	if out := c.ok("", "users", "enable", "bob"); out != "user bob enabled\n" {
		t.Errorf("enable: got %q", out)
	}
	patches := c.srv.Find("PATCH", "/v1/users/bob")
	if len(patches) != 2 || patches[0].Body != `{"enabled":false}` || patches[1].Body != `{"enabled":true}` {
		t.Errorf("patches: got %+v", patches)
	}

	// An admin sets bob's password with one line; alice changes her own with two.
	c.ok("new-bob-password\n", "users", "set-password", "bob", "--password-stdin")
	c.ok("s3cret\nnew-alice-password\n", "users", "set-password", "alice", "--password-stdin")
	bodies := []string{c.srv.Find("PUT", "/v1/users/bob/password")[0].Body, c.srv.Find("PUT", "/v1/users/alice/password")[0].Body}
	if bodies[0] != `{"password":"new-bob-password"}` || bodies[1] != `{"currentPassword":"s3cret","password":"new-alice-password"}` {
		t.Errorf("password bodies: got %v", bodies)
	}
	c.srv.Login(t, "bob", "new-bob-password")
	c.fails("password not changed: the current password is wrong", "wrong\nnewer-password\n", "users", "set-password", "alice", "--password-stdin")
	c.fails("no new password on stdin", "new-alice\n", "users", "set-password", "alice", "--password-stdin")

	if out := c.ok("", "users", "delete", "carol"); out != "user carol deleted\n" {
		t.Errorf("delete: got %q", out)
	}
	c.fails("user carol not found: see `herdctl users list`", "", "users", "delete", "carol")
	c.fails("user bob already exists: see `herdctl users list`", "bobs-new-password\n", "users", "create", "bob", "--password-stdin")
}

func TestUsersCreatePromptsTwice(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.terminal = []string{"password-one", "password-two"}
	c.fails("the two passwords differ", "", "users", "create", "dave")
	c.terminal = []string{"same-password", "same-password"}
	c.ok("", "users", "create", "dave")
	c.srv.Login(t, "dave", "same-password")
	c.terminal = []string{"short", "short"}
	c.fails("password rejected: use at least 12 characters", "", "users", "create", "erin")
}
