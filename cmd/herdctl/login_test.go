package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func TestLoginPinsCAAndWritesConfig(t *testing.T) {
	c := newCLI(t)
	out, errOut, err := c.run("s3cret\r\n", "login", c.srv.URL+"/", "--username", "alice", "--password-stdin",
		"--ca-checksum", herdclient.Checksum(c.srv.CAPEM()))
	if err != nil {
		t.Fatalf("login: %v (stderr %q)", err, errOut)
	}
	if want := "Logged in to " + c.srv.URL + " as alice\n"; out != want {
		t.Errorf("stdout: got %q, want %q", out, want)
	}
	logins := c.srv.Find("POST", "/v1/login")
	if len(logins) != 1 {
		t.Fatalf("got %d logins, want 1", len(logins))
	}
	var req herdapi.LoginRequest
	if err := json.Unmarshal([]byte(logins[0].Body), &req); err != nil {
		t.Fatal(err)
	}
	if want := (herdapi.LoginRequest{Username: "alice", Password: "s3cret", Kind: herdapi.KindSession, Description: "herdctl login"}); req != want {
		t.Errorf("login body: got %+v, want %+v", req, want)
	}
	if logins[0].Auth != "" {
		t.Errorf("login sent Authorization %q, want none", logins[0].Auth)
	}

	info, err := os.Stat(c.config)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("config mode: got %04o, want 0600", got)
	}
	cfg := c.readConfig()
	if live := c.liveTokens(); cfg.Server != c.srv.URL || cfg.Username != "alice" || !strings.HasPrefix(cfg.Token, cfg.TokenName+":") ||
		len(live) != 1 || live[0] != cfg.TokenName || cfg.InsecureSkipTLSVerify {
		t.Errorf("config: got %+v, want the token the server holds (%v)", cfg, live)
	}
	if cfg.CACert != string(c.srv.CAPEM()) {
		t.Errorf("config CA: got %q, want the server's CA", cfg.CACert)
	}
	if entries, _ := os.ReadDir(c.home); len(entries) != 1 {
		t.Errorf("got %d files next to the config, want only it (no temporary files left)", len(entries))
	}

	// Logging in again without trust flags reuses the pinned CA.
	c.ok("s3cret\n", "login", c.srv.URL, "--username", "alice", "--password-stdin")
	if got := c.readConfig(); got.Token == cfg.Token || got.CACert != cfg.CACert {
		t.Errorf("second login: got the same token %v and CA kept %v, want a new token and the CA kept", got.Token == cfg.Token, got.CACert == cfg.CACert)
	}
}

func TestLoginDefaultConfigPath(t *testing.T) {
	c := newCLI(t)
	delete(c.env, configEnv)
	c.login("alice", "s3cret")
	dir := filepath.Join(c.home, ".herd")
	for path, want := range map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, "config"): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: got mode %04o, want %04o", path, got, want)
		}
	}
	if _, err := os.Stat(c.config); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("HERDCONFIG file written though HERDCONFIG is unset: %v", err)
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  func(c *cli) []string
		setup func(c *cli)
		want  []string
	}{
		{name: "wrong checksum", stdin: "s3cret\n",
			args: func(c *cli) []string {
				return []string{"--password-stdin", "--ca-checksum", herdclient.Checksum([]byte("another CA"))}
			},
			want: []string{"does not match --ca-checksum", "administrator"}},
		{name: "unknown CA without checksum", stdin: "s3cret\n",
			args: func(*cli) []string { return []string{"--password-stdin"} },
			want: []string{"is not trusted", "--ca-checksum"}},
		{name: "wrong password", stdin: "nope\n", args: pinned,
			want: []string{"login failed: wrong username or password"}},
		{name: "rate limited", stdin: "s3cret\n", args: pinned, setup: func(c *cli) {
			for range 5 {
				c.run("wrong\n", append([]string{"login", c.srv.URL, "--username", "alice"}, pinned(c)...)...)
			}
		}, want: []string{"too many failed logins: try again in 60s"}},
		{name: "no password on stdin", stdin: "", args: pinned,
			want: []string{"no password on stdin"}},
		{name: "stdin not a terminal", stdin: "s3cret\n",
			args: func(c *cli) []string { return []string{"--ca-checksum", herdclient.Checksum(c.srv.CAPEM())} },
			want: []string{"use --password-stdin", "not a terminal"}},
		{name: "checksum and insecure", stdin: "s3cret\n",
			args: func(*cli) []string {
				return []string{"--password-stdin", "--ca-checksum", "ab", "--insecure-skip-tls-verify"}
			},
			want: []string{"ca-checksum", "insecure-skip-tls-verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			if tt.setup != nil {
				tt.setup(c)
			}
			args := append([]string{"login", c.srv.URL, "--username", "alice"}, tt.args(c)...)
			_, _, err := c.run(tt.stdin, args...)
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("got error %v, want one containing %q", err, want)
				}
			}
			if _, err := os.Stat(c.config); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a failed login wrote the config (%v)", err)
			}
		})
	}
}

func pinned(c *cli) []string {
	return []string{"--password-stdin", "--ca-checksum", herdclient.Checksum(c.srv.CAPEM())}
}

func TestLoginInsecureWarns(t *testing.T) {
	c := newCLI(t)
	_, errOut, err := c.run("s3cret\n", "login", c.srv.URL, "-u", "alice", "--password-stdin", "--insecure-skip-tls-verify")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: the certificate of "+c.srv.URL+" is not verified") {
		t.Errorf("stderr: got %q, want a warning", errOut)
	}
	if cfg := c.readConfig(); !cfg.InsecureSkipTLSVerify || cfg.CACert != "" {
		t.Errorf("config: got %+v, want insecure without a CA", cfg)
	}
	if out := c.ok("", "whoami"); !strings.Contains(out, "NOT VERIFIED") {
		t.Errorf("whoami: got %q, want it to say the certificate is not verified", out)
	}
}

func TestLoginPrompts(t *testing.T) {
	c := newCLI(t)
	c.terminal = []string{"s3cret"}
	_, errOut, err := c.run("", "login", c.srv.URL, "-u", "alice", "--ca-checksum", herdclient.Checksum(c.srv.CAPEM()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "Password: ") {
		t.Errorf("stderr: got %q, want a prompt", errOut)
	}
}

func TestLoginRefusesHTTP(t *testing.T) {
	c := newCLI(t)
	c.fails("only talks https", "s3cret\n", "login", "http://herd.example.com", "-u", "alice", "--password-stdin")
}

func TestLogout(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	token := c.readConfig().Token
	if out := c.ok("", "logout"); out != "Logged out of "+c.srv.URL+"\n" {
		t.Errorf("stdout: got %q", out)
	}
	calls := c.srv.Find("POST", "/v1/logout")
	if len(calls) != 1 || calls[0].Auth != "Bearer "+token {
		t.Errorf("logout calls: got %+v, want one with the token", calls)
	}
	if live := c.liveTokens(); len(live) != 0 {
		t.Errorf("server still holds tokens %v", live)
	}
	cfg := c.readConfig()
	if cfg.Token != "" || cfg.TokenName != "" || cfg.Server != c.srv.URL || cfg.CACert == "" {
		t.Errorf("config after logout: got %+v, want no token but the server and CA", cfg)
	}
	c.fails("not logged in: run `herdctl login "+c.srv.URL+" --username alice --password-stdin`", "", "clusters", "list")
	if out := c.ok("", "logout"); out != "Not logged in\n" {
		t.Errorf("second logout: got %q", out)
	}
}

func TestLogoutUnreachable(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.srv.Close()
	out, errOut, err := c.run("", "logout")
	if err != nil {
		t.Fatalf("logout: %v", err)
	}
	if !strings.Contains(out, "Logged out") {
		t.Errorf("stdout: got %q", out)
	}
	for _, want := range []string{"server " + c.srv.URL + " is unreachable", "removed the token from " + c.config + " only"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr: got %q, want %q in it", errOut, want)
		}
	}
	if cfg := c.readConfig(); cfg.Token != "" {
		t.Errorf("token kept: %+v", cfg)
	}
}

func TestConfigPermissionsWarning(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	if err := os.Chmod(c.config, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := c.run("", "whoami")
	if err != nil {
		t.Fatal(err)
	}
	if want := "other users may read it (mode 0644): run `chmod 600 " + c.config + "`"; !strings.Contains(errOut, want) {
		t.Errorf("stderr: got %q, want %q", errOut, want)
	}
}

func TestWhoami(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	out := c.ok("", "whoami")
	for _, want := range []string{"Username:       alice", "Name:           " + c.srv.alice.Name, "Global roles:   admin", "Certificate:    CA pinned at login"} {
		if !strings.Contains(out, want) {
			t.Errorf("whoami: got\n%s\nwant a line %q", out, want)
		}
	}
	var me herdapi.User
	if err := json.Unmarshal([]byte(c.ok("", "whoami", "-o", "json")), &me); err != nil || me.Username != "alice" {
		t.Errorf("whoami -o json: got %+v, %v", me, err)
	}
}
