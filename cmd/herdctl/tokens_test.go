package main

import (
	"encoding/json"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestTokens(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")

	out, errOut, err := c.run("", "tokens", "create", "--ttl", "720h", "--description", "ci", "--cluster", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if out != "secret-2\n" {
		t.Errorf("stdout: got %q, want only the token", out)
	}
	if !strings.Contains(errOut, "Created token t-2 (kubeconfig, expires in 16h). It is shown only once") {
		t.Errorf("stderr: got %q", errOut)
	}
	if got, want := c.srv.find("POST", "/v1/tokens")[0].Body, `{"kind":"kubeconfig","ttlSeconds":2592000,"description":"ci","clusterName":"prod"}`; got != want {
		t.Errorf("create body: got %s, want %s", got, want)
	}
	var resp herdapi.TokenResponse
	if err := json.Unmarshal([]byte(c.ok("", "tokens", "create", "--kind", "session", "-o", "json")), &resp); err != nil || resp.Token != "secret-3" {
		t.Errorf("create -o json: got %+v, %v", resp, err)
	}
	c.fails(`unknown token kind "api": use kubeconfig or session`, "", "tokens", "create", "--kind", "api")

	want := "" +
		"NAME   USER    KIND         CLUSTER   DESCRIPTION   EXPIRES   LAST USED   CURRENT\n" +
		"t-1    alice   session      -         -             in 16h    never       *\n" +
		"t-2    alice   kubeconfig   prod      ci            in 16h    never       -\n" +
		"t-3    alice   session      -         -             in 16h    never       -\n"
	if got := c.ok("", "tokens", "list"); got != want {
		t.Errorf("list: got\n%s\nwant\n%s", got, want)
	}
	c.ok("", "tokens", "list", "--all")
	if len(c.srv.find("GET", "/v1/tokens?all=true")) != 1 {
		t.Error("tokens list --all did not ask for all=true")
	}

	if out := c.ok("", "tokens", "revoke", "t-2"); out != "token t-2 revoked\n" {
		t.Errorf("revoke: got %q", out)
	}
	c.fails("token t-2 not found: see `herdctl tokens list`", "", "tokens", "revoke", "t-2")

	// Revoking herdctl's own token logs out.
	_, errOut, err = c.run("", "tokens", "revoke", "t-1")
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
	for i := range 2 {
		if err := json.Unmarshal([]byte(c.ok("", "token", "--cluster", "prod")), &cred); err != nil {
			t.Fatal(err)
		}
		if cred.Status.Token != "secret-2" || cred.Status.ExpirationTimestamp == nil {
			t.Errorf("call %d: got %+v, want the cluster token secret-2 with its expiry", i+1, cred.Status)
		}
	}
	made := c.srv.find("POST", "/v1/tokens")
	if len(made) != 1 || !strings.Contains(made[0].Body, `"clusterName":"prod"`) || !strings.Contains(made[0].Body, `"kind":"kubeconfig"`) {
		t.Errorf("tokens made: got %+v, want one kubeconfig token for prod, then the cached one", made)
	}
	if err := json.Unmarshal([]byte(c.ok("", "token")), &cred); err != nil || cred.Status.Token != "secret-1" {
		t.Errorf("without --cluster: got %+v, %v, want the login token", cred.Status, err)
	}
}
