package main

import (
	"encoding/json"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestLoginFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown provider", []string{"--provider", "kerberos", "-u", "bob"},
			`unknown --provider "kerberos": use local, openldap or activedirectory (username and password) or github, oidc or saml (browser)`},
		{"username with a browser login", []string{"--provider", "github", "--username", "bob"},
			"--provider github logs in with a browser: drop --username and --password-stdin"},
		{"password-stdin with a browser login", []string{"--provider", "oidc", "--password-stdin"},
			"--provider oidc logs in with a browser: drop --username and --password-stdin"},
		{"no username", []string{"--password-stdin"},
			"--username is required to log in with local: give --username USERNAME (or --provider github, oidc or saml to log in with a browser)"},
		{"no-browser with a password provider", []string{"--provider", "openldap", "-u", "bob", "--no-browser"},
			"--no-browser and --timeout are for browser logins (--provider github, oidc or saml): openldap takes --username and --password-stdin"},
		{"zero timeout", []string{"--provider", "github", "--timeout", "0s"},
			"--timeout 0s is not positive: give how long to wait for the browser, such as --timeout 5m"},
		{"timeout without unit", []string{"--provider", "github", "--timeout", "5"},
			"see `herdctl login --help`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			c.browser = func(string) error { t.Error("opened a browser"); return nil }
			c.fails(tt.want, "hunter2\n", append([]string{"login", c.srv.URL}, tt.args...)...)
			if reqs := c.srv.Requests(0); len(reqs) != 0 {
				t.Errorf("sent %d requests, want none: %+v", len(reqs), reqs)
			}
		})
	}
}

func TestLoginPasswordProvider(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.ok("", "auth", "enable", "openldap")
	c.ok("", "logout")
	out := c.ok("hunter2\n", "login", c.srv.URL, "--provider", "openldap", "-u", "bob", "--password-stdin", "--insecure-skip-tls-verify")
	if want := "Logged in to " + c.srv.URL + " as bob\n"; out != want {
		t.Errorf("stdout: got %q, want %q", out, want)
	}
	var req herdapi.LoginRequest
	logins := c.srv.Find("POST", "/v1/login")
	_ = json.Unmarshal([]byte(logins[len(logins)-1].Body), &req)
	if req.Provider != "openldap" || req.Username != "bob" || req.Password != "hunter2" {
		t.Errorf("login body: got %+v, want provider openldap", req)
	}
	if cfg := c.readConfig(); cfg.Provider != "openldap" || cfg.Username != "bob" {
		t.Errorf("config: got %+v, want provider openldap", cfg)
	}
	// Hints repeat the provider.
	c.ok("", "logout")
	c.fails("not logged in: run `herdctl login "+c.srv.URL+" --provider openldap --username bob --password-stdin`", "", "whoami")
}

func TestLoginCommandHint(t *testing.T) {
	tests := []struct {
		name string
		cfg  *fileConfig
		want string
	}{
		{"nothing known", nil, "herdctl login SERVER --username USERNAME --password-stdin"},
		{"local", &fileConfig{Server: "https://h", Username: "alice"}, "herdctl login https://h --username alice --password-stdin"},
		{"ldap", &fileConfig{Server: "https://h", Username: "bob", Provider: "activedirectory"},
			"herdctl login https://h --provider activedirectory --username bob --password-stdin"},
		{"browser", &fileConfig{Server: "https://h", Username: "bob", Provider: "github"}, "herdctl login https://h --provider github"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loginCommand(tt.cfg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
