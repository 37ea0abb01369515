package main

import (
	"testing"
)

func TestPrincipalsSearch(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	// GitHub's users and teams as the GitHub stand-in has them, and Herd's
	// local users.
	c.runTests(t, []cmdTest{
		{name: "table", args: []string{"principals", "search", "dev"}, stdout: "" +
			"ID                   KIND    PROVIDER   NAME        DISPLAY NAME\n" +
			"github_team://7001   group   github     acme/devs   Developers\n",
			requests: []string{"GET /v1/principals?q=dev"}},
		{name: "a user", args: []string{"principals", "search", "octo"}, stdout: "" +
			"ID                   KIND   PROVIDER   NAME      DISPLAY NAME\n" +
			"github_user://1001   user   github     octocat   -\n",
			requests: []string{"GET /v1/principals?q=octo"}},
		{name: "escapes the query", args: []string{"principals", "search", "a b&c"},
			stderr: "No users or groups match \"a b&c\"\n", requests: []string{"GET /v1/principals?q=a+b%26c"}},
		{name: "json", args: []string{"principals", "search", "ali", "-o", "json"}, stdout: `{
  "items": [
    {
      "id": "local://` + c.srv.alice.Name + `",
      "kind": "user",
      "provider": "local",
      "name": "alice",
      "displayName": "Alice"
    }
  ]
}
`, requests: []string{"GET /v1/principals?q=ali"}},
		{name: "empty json", args: []string{"principals", "search", "zz", "-o", "yaml"}, stdout: "items: []\n",
			requests: []string{"GET /v1/principals?q=zz"}},
		{name: "empty query", args: []string{"principals", "search", ""}, wantErr: true,
			stdout: "QUERY is empty: give the start of a user or group name"},
		{name: "no query", args: []string{"principals", "search"}, wantErr: true,
			stdout: "missing QUERY: usage: herdctl principals search QUERY"},
	})
}
