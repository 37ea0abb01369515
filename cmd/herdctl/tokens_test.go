package main

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func TestTokens(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	login := c.readConfig().TokenName

	out, errOut, err := c.run("", "tokens", "create", "--ttl", "720h", "--description", "ci", "--cluster", "prod")
	if err != nil {
		t.Fatal(err)
	}
	ci, _, _ := strings.Cut(out, ":")
	if !regexp.MustCompile(`^t-[a-z0-9]+:[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Errorf("stdout: got %q, want only the token", out)
	}
	if !strings.Contains(errOut, "Created token "+ci+" (kubeconfig, expires in 30d). It is shown only once") {
		t.Errorf("stderr: got %q", errOut)
	}
	if got, want := c.srv.Find("POST", "/v1/tokens")[0].Body, `{"kind":"kubeconfig","ttlSeconds":2592000,"description":"ci","clusterName":"prod"}`; got != want {
		t.Errorf("create body: got %s, want %s", got, want)
	}
	var resp herdapi.TokenResponse
	if err := json.Unmarshal([]byte(c.ok("", "tokens", "create", "--kind", "session", "-o", "json")), &resp); err != nil ||
		!strings.HasPrefix(resp.Token, resp.Info.Name+":") || resp.Info.Kind != herdapi.KindSession {
		t.Errorf("create -o json: got %+v, %v, want a session token and its name", resp, err)
	}
	c.fails(`unknown token kind "api": use kubeconfig or session`, "", "tokens", "create", "--kind", "api")

	rows := map[string]string{
		login:          "alice   session      -         herdctl login   in 16h    never       *",
		ci:             "alice   kubeconfig   prod      ci              in 30d    never       -",
		resp.Info.Name: "alice   session      -         -               in 16h    never       -",
	}
	want := "NAME           USER    KIND         CLUSTER   DESCRIPTION     EXPIRES   LAST USED   CURRENT\n"
	for _, name := range slices.Sorted(maps.Keys(rows)) {
		want += name + "   " + rows[name] + "\n"
	}
	if got := c.ok("", "tokens", "list"); got != want {
		t.Errorf("list: got\n%s\nwant\n%s", got, want)
	}
	c.ok("", "tokens", "list", "--all")
	if len(c.srv.Find("GET", "/v1/tokens?all=true")) != 1 {
		t.Error("tokens list --all did not ask for all=true")
	}

	if out := c.ok("", "tokens", "revoke", ci); out != "token "+ci+" revoked\n" {
		t.Errorf("revoke: got %q", out)
	}
	revoked, err := herdclient.New(herdclient.Config{Server: c.srv.URL, CACert: c.srv.CAPEM(), Token: strings.TrimSpace(out)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := revoked.Me(context.Background()); err == nil {
		t.Error("the revoked token still works")
	}
	c.fails("token t-nosuchtoken not found: see `herdctl tokens list`", "", "tokens", "revoke", "t-nosuchtoken")

	// Revoking herdctl's own token logs out.
	_, errOut, err = c.run("", "tokens", "revoke", login)
	if err != nil || !strings.Contains(errOut, "you are logged out") {
		t.Errorf("revoke own token: got %v, stderr %q", err, errOut)
	}
	if cfg := c.readConfig(); cfg.Token != "" {
		t.Errorf("config keeps the revoked token: %+v", cfg)
	}
}

func TestTokenForCluster(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	var cred execCredential
	var first string
	for i := range 2 {
		if err := json.Unmarshal([]byte(c.ok("", "token", "--cluster", "prod")), &cred); err != nil {
			t.Fatal(err)
		}
		if cred.Status.Token == c.readConfig().Token || cred.Status.ExpirationTimestamp == nil || (i > 0 && cred.Status.Token != first) {
			t.Errorf("call %d: got %+v, want the same cluster token with its expiry", i+1, cred.Status)
		}
		first = cred.Status.Token
	}
	made := c.srv.Find("POST", "/v1/tokens")
	if len(made) != 1 || !strings.Contains(made[0].Body, `"clusterName":"prod"`) || !strings.Contains(made[0].Body, `"kind":"kubeconfig"`) {
		t.Errorf("tokens made: got %+v, want one kubeconfig token for prod, then the cached one", made)
	}
	cred = execCredential{}
	if err := json.Unmarshal([]byte(c.ok("", "token")), &cred); err != nil || cred.Status.Token != c.readConfig().Token || cred.Status.ExpirationTimestamp != nil {
		t.Errorf("without --cluster: got %+v, %v, want the login token", cred.Status, err)
	}
}
