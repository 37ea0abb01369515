package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func TestLoginBrowser(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret") // pins the CA; the browser login must not send this token
	alice := c.readConfig().Token
	b := newUserBrowser(c, "octocat")
	c.browser = b.open
	before := len(c.srv.Requests(0))
	out, errOut, err := c.run("", "login", c.srv.URL, "--provider", "github")
	if err != nil {
		t.Fatalf("login: %v (stderr %q)", err, errOut)
	}
	if want := "Logged in to " + c.srv.URL + " as octocat\n"; out != want {
		t.Errorf("stdout: got %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "Opened a browser to log in with github") {
		t.Errorf("stderr: got %q, want it to say a browser opened", errOut)
	}
	page := b.page()
	if page.err != nil || page.status != 200 || !strings.Contains(page.body, "You are logged in to Herd; you can close this window.") {
		t.Errorf("browser page: got %d %q (%v), want 200 and the logged-in page", page.status, page.body, page.err)
	}
	callback, _ := url.Parse(page.url)
	if callback.Scheme != "http" || callback.Hostname() != "127.0.0.1" || callback.Path != "/callback" {
		t.Errorf("the browser ended on %s, want http://127.0.0.1:PORT/callback", page.url)
	}

	reqs := c.srv.Requests(before)
	var methods []string
	for _, r := range reqs {
		methods = append(methods, r.Method+" "+strings.SplitN(r.URI, "?", 2)[0])
	}
	if got, want := strings.Join(methods, ", "), "POST /v1/auth/login/github, GET /v1/auth/callback/github, POST /v1/auth/tickets"; got != want {
		t.Fatalf("requests: got %s, want %s", got, want)
	}
	var start herdapi.RedirectLoginRequest
	var redeem herdapi.TicketRedeemRequest
	_ = json.Unmarshal([]byte(reqs[0].Body), &start)
	_ = json.Unmarshal([]byte(reqs[2].Body), &redeem)
	if reqs[0].Auth != "" || reqs[2].Auth != "" {
		t.Errorf("Authorization: got %q and %q, want none on the login requests", reqs[0].Auth, reqs[2].Auth)
	}
	if start.CLIRedirect != callback.Scheme+"://"+callback.Host+"/callback" {
		t.Errorf("cliRedirect: got %q, want the loopback the browser came back to (%s)", start.CLIRedirect, page.url)
	}
	checkVerifier(t, redeem.Verifier, start.CLIChallenge)
	if redeem.Ticket != callback.Query().Get("ticket") || redeem.Kind != herdapi.KindSession || redeem.Description != "herdctl login" {
		t.Errorf("redeem: got ticket %q kind %q description %q, want the browser's ticket, session, herdctl login", redeem.Ticket, redeem.Kind, redeem.Description)
	}

	cfg := c.readConfig()
	if cfg.Token == alice || cfg.Token == "" || cfg.Username != "octocat" || cfg.Provider != "github" || cfg.CACert != string(c.srv.CAPEM()) {
		t.Errorf("config: got %+v, want octocat's token, provider github and the pinned CA", cfg)
	}
	if strings.Contains(out+errOut, cfg.Token) || strings.Contains(out+errOut, redeem.Ticket) {
		t.Errorf("herdctl printed the token or the ticket:\n%s%s", out, errOut)
	}
	if p := b.visit(http.MethodGet, page.url, ""); p.err == nil {
		t.Errorf("the loopback still answers after the login: %d", p.status)
	}
	if out := c.ok("", "whoami"); !strings.Contains(out, "Username:       octocat") {
		t.Errorf("whoami after the browser login: got\n%s", out)
	}
}

// checkVerifier checks that verifier is 32 random bytes in base64url and
// that challenge is its sha256, as the server checks.
func checkVerifier(t *testing.T, verifier, challenge string) {
	t.Helper()
	if raw, err := base64.RawURLEncoding.DecodeString(verifier); err != nil || len(raw) != 32 {
		t.Errorf("verifier %q: got %d bytes (%v), want 32 in base64url without padding", verifier, len(raw), err)
	}
	sum := sha256.Sum256([]byte(verifier))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); challenge != want {
		t.Errorf("challenge: got %q, want base64url(sha256(verifier)) %q", challenge, want)
	}
}

func TestLoginBrowserPrintsURL(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		browser func(url string) error
	}{
		{"no-browser", []string{"--no-browser"}, func(string) error { t.Error("opened a browser despite --no-browser"); return nil }},
		{"no browser opens", nil, func(string) error { return errors.New("xdg-open: no method available") }},
		{"no browser at all", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			b := newUserBrowser(c, "octocat")
			c.browser = tt.browser
			c.stderrTee = &urlReader{open: b.open}
			args := append([]string{"login", c.srv.URL, "--provider", "github", "--ca-checksum", herdclient.Checksum(c.srv.CAPEM())}, tt.args...)
			_, errOut, err := c.run("", args...)
			if err != nil {
				t.Fatalf("login: %v (stderr %q)", err, errOut)
			}
			if want := "Open this URL in your browser:\n" + c.srv.github.URL + "/login/oauth/authorize?client_id="; !strings.Contains(errOut, want) {
				t.Errorf("stderr: got %q, want %q in it", errOut, want)
			}
			if page := b.page(); page.status != 200 {
				t.Errorf("browser page: got %d %q", page.status, page.body)
			}
			if cfg := c.readConfig(); cfg.Token == "" || cfg.CACert != string(c.srv.CAPEM()) {
				t.Errorf("config: got %+v, want a token and the CA pinned by --ca-checksum", cfg)
			}
		})
	}
}

func TestLoginBrowserCallbackRefusesOthers(t *testing.T) {
	c := newCLI(t)
	b := newUserBrowser(c, "octocat")
	var got []string
	b.before = func(callback string) {
		for _, v := range []struct{ name, method, url, host string }{
			{"other path", "GET", strings.Replace(callback, "/callback", "/other", 1) + "?ticket=forged", ""},
			{"other host", "GET", callback + "?ticket=forged", "evil.example:80"},
			{"POST", "POST", callback + "?ticket=forged", ""},
			{"no ticket", "GET", callback, ""},
		} {
			p := b.visit(v.method, v.url, v.host)
			got = append(got, fmt.Sprintf("%s: %d", v.name, p.status))
		}
	}
	c.browser = b.open
	c.ok("", "login", c.srv.URL, "--provider", "github", "--insecure-skip-tls-verify")
	if page := b.page(); page.status != 200 {
		t.Errorf("browser page after the refused requests: got %d %q", page.status, page.body)
	}
	want := []string{"other path: 404", "other host: 400", "POST: 405", "no ticket: 400"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("answers: got %q, want %q", got, want)
	}
	redeems := c.srv.Find("POST", "/v1/auth/tickets")
	if len(redeems) != 1 || strings.Contains(redeems[0].Body, "forged") {
		t.Errorf("redeemed: got %+v, want only the ticket from the provider", redeems)
	}
}

func TestLoginBrowserFailures(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		setup func(b *userBrowser)
		want  string
		page  string // what the browser shows, "" for no visit
	}{
		{name: "timeout", args: []string{"--provider", "github", "--timeout", "300ms"},
			want: "the browser did not come back to herdctl within 300ms: run `herdctl login %s --provider github` again (with --no-browser to open the URL yourself, or a longer --timeout)"},
		{name: "ticket refused", args: []string{"--provider", "github"}, setup: func(b *userBrowser) { b.useTicket = true },
			want: "the server refused the login ticket (expired, used already, or from another login): run `herdctl login %s --provider github` again",
			page: "The login did not succeed; see the terminal"},
		{name: "provider not enabled", args: []string{"--provider", "oidc"},
			want: "failed to start a browser login with oidc: identity provider oidc is not enabled for browser logins; see `herdctl auth show`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			b := newUserBrowser(c, "octocat")
			opened := false
			c.browser = func(url string) error {
				opened = true
				if tt.page == "" {
					return nil // a browser that never comes back
				}
				return b.open(url)
			}
			if tt.setup != nil {
				tt.setup(b)
			}
			args := append([]string{"login", c.srv.URL, "--insecure-skip-tls-verify"}, tt.args...)
			c.fails(strings.ReplaceAll(tt.want, "%s", c.srv.URL), "", args...)
			if tt.page != "" {
				if page := b.page(); !strings.Contains(page.body, tt.page) {
					t.Errorf("browser page: got %d %q, want %q in it", page.status, page.body, tt.page)
				}
			}
			if cb := b.lastCLIRedirect(); cb != "" {
				if p := b.visit(http.MethodGet, cb+"?ticket=late", ""); p.err == nil {
					t.Errorf("the loopback still answers after the failed login: %d", p.status)
				}
			} else if opened {
				t.Error("opened a browser for a login the server refused")
			}
			if _, err := os.Stat(c.config); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a failed login wrote the config (%v)", err)
			}
		})
	}
}
