package main

import (
	"testing"
)

func TestPrincipalsSearch(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	c.runTests(t, []cmdTest{
		{name: "table", args: []string{"principals", "search", "dev"}, stdout: "" +
			"ID                KIND    PROVIDER   NAME    DISPLAY NAME\n" +
			"github_team://7   group   github     devs    Developers\n" +
			"github_user://9   user    github     devon   -\n",
			requests: []string{"GET /v1/principals?q=dev"}},
		{name: "escapes the query", args: []string{"principals", "search", "a b&c"},
			stderr: "No users or groups match \"a b&c\"\n", requests: []string{"GET /v1/principals?q=a+b%26c"}},
		{name: "json", args: []string{"principals", "search", "ali", "-o", "json"}, stdout: `{
  "items": [
    {
      "id": "local://u-alice",
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
