package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	secret := filepath.Join(dir, "secret")
	_ = os.WriteFile(ca, []byte(c.srv.github.CAPEM), 0o600)
	_ = os.WriteFile(secret, []byte("gh-secret-2\n"), 0o600)
	certificate, _ := json.Marshal(strings.TrimSpace(c.srv.github.CAPEM))
	lines := strings.Count(strings.TrimSpace(c.srv.github.CAPEM), "\n") + 1
	githubShown := func(settings ...string) string {
		return "" +
			"Type:           github\n" +
			"Enabled:        true\n" +
			"Flow:           redirect\n" +
			"Callback URL:   " + c.srv.URL + "/v1/auth/callback/github\n" +
			"Settings:       " + strings.Join(settings, "\n                ") + "\n" +
			"Secrets set:    clientSecret\n" +
			"                searchToken\n"
	}
	c.runTests(t, []cmdTest{
		{name: "list", args: []string{"auth", "show"}, stdout: "" +
			"TYPE     ENABLED   FLOW\n" +
			"local    true      password\n" +
			"github   true      redirect\n",
			requests: []string{"GET /v1/auth/providers"}},
		{name: "show one", args: []string{"auth", "show", "github"},
			stdout:   githubShown("allowedPrincipals=github_org://9001", "baseURL="+c.srv.github.URL, fmt.Sprintf("certificate=(%d lines)", lines), "clientID=Iv1.herdtest"),
			requests: []string{"GET /v1/auth/providers/github"}},
		{name: "show one as json", args: []string{"auth", "show", "openldap", "-o", "json"}, stdout: `{
  "type": "openldap",
  "enabled": false,
  "settings": {
    "servers": "ldap.example.com"
  },
  "flow": "password"
}
`, requests: []string{"GET /v1/auth/providers/openldap"}},
		{name: "show unconfigured", args: []string{"auth", "show", "oidc"}, wantErr: true,
			stdout:   "identity provider oidc is not configured: configure it with `herdctl auth enable oidc --set KEY=VALUE ...`",
			requests: []string{"GET /v1/auth/providers/oidc"}},
		{name: "enable merges settings", args: []string{"auth", "enable", "github", "--set", "clientID=Iv1.new,x=y", "--set-file", "certificate=" + ca,
			"--unset", "baseURL", "--secret-file", "clientSecret=" + secret}, stdout: "" +
			"identity provider github enabled\n" +
			"Callback URL to register at the provider: " + c.srv.URL + "/v1/auth/callback/github\n",
			requests: []string{"GET /v1/auth/providers/github",
				`PUT /v1/auth/providers/github {"enabled":true,"settings":{"allowedPrincipals":"github_org://9001","certificate":` + string(certificate) + `,"clientID":"Iv1.new,x=y"},"secrets":{"clientSecret":"gh-secret-2"}}`}},
		{name: "multi-line settings are summed up", args: []string{"auth", "show", "github"},
			stdout:   githubShown("allowedPrincipals=github_org://9001", fmt.Sprintf("certificate=(%d lines)", lines), "clientID=Iv1.new,x=y"),
			requests: []string{"GET /v1/auth/providers/github"}},
		{name: "enable without settings keeps them", args: []string{"auth", "enable", "openldap"},
			stdout: "identity provider openldap enabled\n", requests: []string{`PUT /v1/auth/providers/openldap {"enabled":true}`}},
		{name: "enable refused", args: []string{"auth", "enable", "github", "--unset", "clientID"}, wantErr: true,
			stdout: "failed to enable identity provider github: identity provider github: github: clientID is required",
			requests: []string{"GET /v1/auth/providers/github",
				`PUT /v1/auth/providers/github {"enabled":true,"settings":{"allowedPrincipals":"github_org://9001","certificate":` + string(certificate) + `}}`}},
		{name: "enable unknown", args: []string{"auth", "enable", "kerberos"}, wantErr: true,
			stdout:   "failed to enable identity provider kerberos: unknown identity provider kerberos; Herd has activedirectory, github, oidc, openldap, saml",
			requests: []string{`PUT /v1/auth/providers/kerberos {"enabled":true}`}},
		{name: "enable saml without metadata", args: []string{"auth", "enable", "saml"}, wantErr: true,
			stdout:   "set exactly one of idpMetadataURL",
			requests: []string{`PUT /v1/auth/providers/saml {"enabled":true}`}},
		{name: "disable", args: []string{"auth", "disable", "openldap"}, stdout: "identity provider openldap disabled\n",
			requests: []string{`PUT /v1/auth/providers/openldap {"enabled":false}`}},
		{name: "list after disable", args: []string{"auth", "show"}, stdout: "" +
			"TYPE     ENABLED   FLOW\n" +
			"local    true      password\n" +
			"github   true      redirect\n",
			requests: []string{"GET /v1/auth/providers"}},
	})
}

func TestAuthEnableSecretsFromStdin(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	before := len(c.srv.Requests(0))
	c.ok("cs-1\r\nst-2\n", "auth", "enable", "github", "--secret", "clientSecret", "--secret", "searchToken")
	reqs := c.srv.Requests(before)
	want := `{"enabled":true,"secrets":{"clientSecret":"cs-1","searchToken":"st-2"}}`
	if len(reqs) != 1 || reqs[0].Body != want {
		t.Errorf("requests: got %+v, want one PUT with %s", reqs, want)
	}
	if got, _, err := c.srv.Directory.ProviderSecrets(context.Background(), "github"); err != nil || got["clientSecret"] != "cs-1" || got["searchToken"] != "st-2" {
		t.Errorf("secrets: got %v (%v)", got, err)
	}

	c.terminal = []string{"cs-3"}
	_, errOut, err := c.run("", "auth", "enable", "github", "--secret", "clientSecret")
	if err != nil || !strings.Contains(errOut, "Value of secret clientSecret: ") {
		t.Errorf("on a terminal: got %v and stderr %q, want a prompt", err, errOut)
	}
}

func TestAuthEnableFlagErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"set without =", "", []string{"--set", "clientID"}, `--set "clientID": give KEY=VALUE, such as --set clientID=herd`},
		{"set-file without =", "", []string{"--set-file", "ca.pem"}, `--set-file "ca.pem": give KEY=PATH, such as --set-file certificate=ca.pem`},
		{"missing file", "", []string{"--secret-file", "clientSecret=/nonexistent"}, "--secret-file clientSecret=/nonexistent: open /nonexistent: no such file"},
		{"key twice", "", []string{"--set", "clientID=a", "--unset", "clientID"}, "--unset clientID: --set names clientID already: give each key once"},
		{"secret twice", "x\n", []string{"--secret-file", "clientSecret=/dev/null", "--secret", "clientSecret"},
			"--secret clientSecret: --secret-file names clientSecret already: give each key once"},
		{"secret not on stdin", "one\n", []string{"--secret", "clientSecret", "--secret", "searchToken"},
			"no value of secret searchToken on stdin: give the values of the --secret flags on stdin, one a line, in the order of the flags, or use --secret-file searchToken=PATH"},
		{"empty key", "", []string{"--set", "=x"}, `--set "=x": give KEY=VALUE`},
		{"too many arguments", "", []string{"oidc"}, `too many arguments ["oidc"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			c.login("alice", "s3cret")
			before := len(c.srv.Requests(0))
			c.fails(tt.want, tt.stdin, append([]string{"auth", "enable", "github"}, tt.args...)...)
			if reqs := c.srv.Requests(before); len(reqs) != 0 {
				t.Errorf("sent %+v, want no request", reqs)
			}
		})
	}
}

func TestAuthForbidden(t *testing.T) {
	c := newCLI(t)
	c.login("bob", "hunter2")
	c.fails("forbidden: ask an administrator", "", "auth", "show", "github")
	c.fails("forbidden: ask an administrator", "", "auth", "disable", "github")
	if out := c.ok("", "auth", "show"); !strings.Contains(out, "github   true      redirect") {
		t.Errorf("auth show as a user: got\n%s", out)
	}
}
