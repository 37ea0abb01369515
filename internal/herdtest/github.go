package herdtest

import (
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// GitHubUser is a user (or organization: GitHub's ids are one space) of
// the GitHub stand-in.
type GitHubUser struct {
	ID    int64
	Login string
	Name  string
	// Orgs are org logins; Teams are "org/slug".
	Orgs, Teams []string
}

// GitHubTeam is a team of the stand-in.
type GitHubTeam struct {
	ID        int64
	Org, Slug string
	Name      string
}

// GitHub is a local stand-in for GitHub Enterprise Server (GitHub itself
// cannot be reached from tests): the OAuth web flow endpoints and the REST
// API endpoints Herd calls, over TLS, with single-use codes, tokens that
// can be revoked, and pagination with Link headers.
type GitHub struct {
	// URL is the web address (https://127.0.0.1:PORT); the API is at
	// APIURL, URL + /api/v3, as on GitHub Enterprise Server.
	URL, APIURL string
	// CAPEM is the server's certificate, to trust.
	CAPEM string
	// ClientID and ClientSecret are the registered OAuth app's.
	ClientID, ClientSecret string
	// SearchToken is a token of the service account "herd-search", member
	// of every team, for principal search.
	SearchToken string

	srv      *httptest.Server
	mu       sync.Mutex
	pageSize int
	down     bool
	users    map[string]*GitHubUser // by login; orgs too
	orgs     map[string]bool        // logins that are orgs
	teams    []GitHubTeam
	codes    map[string]gitHubCode
	tokens   map[string]string // token -> login
	requests []string
}

type gitHubCode struct {
	login, redirectURI, challenge string
	expires                       time.Time
}

// StartGitHub starts the stand-in until the test ends. Users: octocat
// ("The Octocat"; orgs acme and globex; teams acme/devs, acme/ops),
// hubot (no name, no org), and herd-search.
func StartGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{
		ClientID: "Iv1.herdtest", ClientSecret: "github-client-secret",
		pageSize: 100,
		users:    map[string]*GitHubUser{},
		orgs:     map[string]bool{},
		codes:    map[string]gitHubCode{},
		tokens:   map[string]string{},
	}
	for _, o := range []GitHubUser{{ID: 9001, Login: "acme"}, {ID: 9002, Login: "globex"}, {ID: 9003, Login: "initech"}} {
		g.users[o.Login] = &o
		g.orgs[o.Login] = true
	}
	g.teams = []GitHubTeam{
		{ID: 7001, Org: "acme", Slug: "devs", Name: "Developers"},
		{ID: 7002, Org: "acme", Slug: "ops", Name: "Operations"},
		{ID: 7003, Org: "globex", Slug: "admins", Name: "Admins"},
	}
	g.AddUser(GitHubUser{ID: 1001, Login: "octocat", Name: "The Octocat", Orgs: []string{"acme", "globex"}, Teams: []string{"acme/devs", "acme/ops"}})
	g.AddUser(GitHubUser{ID: 1002, Login: "hubot"})
	g.AddUser(GitHubUser{ID: 1003, Login: "herd-search", Orgs: []string{"acme", "globex"}, Teams: []string{"acme/devs", "acme/ops", "globex/admins"}})
	g.SearchToken = g.Token("herd-search")

	g.srv = httptest.NewTLSServer(g.handler())
	t.Cleanup(g.srv.Close)
	g.URL = g.srv.URL
	g.APIURL = g.srv.URL + "/api/v3"
	g.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.srv.Certificate().Raw}))
	return g
}

// AddUser adds or replaces a user.
func (g *GitHub) AddUser(u GitHubUser) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users[u.Login] = &u
}

// AddTeam adds a team (its members are named in GitHubUser.Teams).
func (g *GitHub) AddTeam(team GitHubTeam) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.teams = append(g.teams, team)
}

// SetPageSize caps every listing's page size (GitHub's is 100).
func (g *GitHub) SetPageSize(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pageSize = n
}

// SetDown makes every endpoint answer 503 (or stops doing so).
func (g *GitHub) SetDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

// Token issues an API token for a user directly, as a personal access
// token.
func (g *GitHub) Token(login string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	tok := "gho_" + rand.Text()
	g.tokens[tok] = login
	return tok
}

// RevokeTokens revokes every token of a user, as when they revoke the
// OAuth app, or are removed.
func (g *GitHub) RevokeTokens(login string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tok, l := range g.tokens {
		if l == login {
			delete(g.tokens, tok)
		}
	}
}

// Requests returns "METHOD PATH" of every request so far.
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// Authorize plays the browser of a user signed in to GitHub who approves
// the OAuth app: it follows authURL (from AuthCodeURL) and returns the
// query of GitHub's redirect to the app (code and state, or error).
func (g *GitHub) Authorize(t testing.TB, authURL, login string) url.Values {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "user_session", Value: login})
	browser := g.srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("GitHub authorize of %s: %s, no redirect", login, resp.Status)
	}
	return loc.Query()
}
