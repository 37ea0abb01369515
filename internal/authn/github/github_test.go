package github_test

import (
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/github"
	"herd.dev/herd/internal/herdtest"
)

const redirectURL = "https://herd.example/v1/auth/github/callback"

func newProvider(t *testing.T, gh *herdtest.GitHub, mod func(*github.Config)) *github.Provider {
	t.Helper()
	cfg := github.Config{
		BaseURL:      gh.URL,
		ClientID:     gh.ClientID,
		ClientSecret: gh.ClientSecret,
		SearchToken:  gh.SearchToken,
		CAPEM:        gh.CAPEM,
		HTTPTimeout:  5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := github.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// login plays the browser of a user who approves Herd at GitHub, and
// checks the callback's state as Herd's handler does.
func login(t *testing.T, gh *herdtest.GitHub, p *github.Provider, user string) herdtest.RedirectFlow {
	t.Helper()
	f := herdtest.NewRedirectFlow()
	code, err := github.Callback(gh.Authorize(t, p.AuthCodeURL(f.State, f.Verifier, redirectURL), user), f.State)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	f.Code = code
	return f
}

var octocatGroups = []string{"github_org://9001", "github_org://9002", "github_team://7001", "github_team://7002"}

func TestLogin(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	for _, tc := range []struct {
		user, wantPrincipal, wantName string
		wantGroups                    []string
	}{
		{"octocat", "github_user://1001", "The Octocat", octocatGroups},
		{"hubot", "github_user://1002", "", nil},
	} {
		t.Run(tc.user, func(t *testing.T) {
			id := login(t, gh, p, tc.user).Exchange(t, p, redirectURL)
			if id.Provider != authn.ProviderGitHub || id.UserPrincipal != tc.wantPrincipal || id.Username != tc.user || id.DisplayName != tc.wantName {
				t.Errorf("got %q %q %q %q, want github %q %q %q", id.Provider, id.UserPrincipal, id.Username, id.DisplayName, tc.wantPrincipal, tc.user, tc.wantName)
			}
			if !slices.Equal(id.Groups, tc.wantGroups) {
				t.Errorf("Groups: got %q, want %q", id.Groups, tc.wantGroups)
			}
			if id.RefreshState == "" {
				t.Error("no RefreshState (access token)")
			}
		})
	}
}

// TestEnterprisePaths checks Herd calls GitHub Enterprise Server at
// BaseURL for the OAuth flow and at BaseURL/api/v3 for the API.
func TestEnterprisePaths(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	f := login(t, gh, p, "octocat")
	f.Exchange(t, p, redirectURL)
	got := gh.Requests()
	want := []string{
		"GET /login/oauth/authorize",
		"POST /login/oauth/access_token",
		"GET /api/v3/user",
		"GET /api/v3/user/orgs",
		"GET /api/v3/user/teams",
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests: got %q, want %q", got, want)
	}
	if u := p.AuthCodeURL("s", f.Verifier, redirectURL); !strings.HasPrefix(u, gh.URL+"/login/oauth/authorize?") ||
		!strings.Contains(u, "scope=read%3Aorg") || !strings.Contains(u, "code_challenge_method=S256") {
		t.Errorf("AuthCodeURL: got %s", u)
	}
}

func TestPagination(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	gh.SetPageSize(1)
	t.Run("every page", func(t *testing.T) {
		p := newProvider(t, gh, nil)
		id := login(t, gh, p, "octocat").Exchange(t, p, redirectURL)
		if !slices.Equal(id.Groups, octocatGroups) {
			t.Errorf("Groups: got %q, want %q", id.Groups, octocatGroups)
		}
		var orgs, teams int
		for _, r := range gh.Requests() {
			orgs += strings.Count(r, "/user/orgs")
			teams += strings.Count(r, "/user/teams")
		}
		if orgs != 2 || teams != 2 {
			t.Errorf("got %d org and %d team pages, want 2 and 2", orgs, teams)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		p := newProvider(t, gh, func(c *github.Config) { c.MaxPages = 1 })
		id := login(t, gh, p, "octocat").Exchange(t, p, redirectURL)
		if want := []string{"github_org://9001", "github_team://7001"}; !slices.Equal(id.Groups, want) {
			t.Errorf("Groups: got %q, want %q (first pages only)", id.Groups, want)
		}
	})
}
