package github_test

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/github"
	"herd.dev/herd/internal/herdtest"
)

func TestFlowRefused(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	ctx := context.Background()

	t.Run("state mismatch", func(t *testing.T) {
		q := gh.Authorize(t, p.AuthCodeURL(rand.Text(), oauth2.GenerateVerifier(), redirectURL), "octocat")
		_, err := github.Callback(q, rand.Text())
		herdtest.WantProviderError(t, err, authn.ErrFlow, q.Get("code"))
	})
	t.Run("user cancelled", func(t *testing.T) {
		_, err := github.Callback(map[string][]string{"error": {"access_denied"}, "state": {"s"}}, "s")
		herdtest.WantProviderError(t, err, authn.ErrFlow)
	})
	t.Run("replayed code", func(t *testing.T) {
		f := login(t, gh, p, "octocat")
		f.Exchange(t, p, redirectURL)
		_, err := p.Exchange(ctx, f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, f.Verifier, gh.ClientSecret)
	})
	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		f := login(t, gh, p, "octocat")
		other := oauth2.GenerateVerifier()
		_, err := p.Exchange(ctx, f.Code, other, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, other, gh.ClientSecret)
	})
	t.Run("redirect URL mismatch", func(t *testing.T) {
		f := login(t, gh, p, "octocat")
		_, err := p.Exchange(ctx, f.Code, f.Verifier, redirectURL+"/other")
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, f.Verifier)
	})
	t.Run("wrong client secret", func(t *testing.T) {
		wrong := newProvider(t, gh, func(c *github.Config) { c.ClientSecret = "not-the-secret" })
		f := login(t, gh, wrong, "octocat")
		_, err := wrong.Exchange(ctx, f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, nil, f.Code, f.Verifier, "not-the-secret")
	})
}

func TestRefresh(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	ctx := context.Background()
	id := login(t, gh, p, "octocat").Exchange(t, p, redirectURL)

	t.Run("reads orgs and teams again", func(t *testing.T) {
		gh.AddUser(herdtest.GitHubUser{ID: 1001, Login: "octocat", Name: "The Octocat", Orgs: []string{"globex"}, Teams: []string{"globex/admins"}})
		groups, state, err := p.Refresh(ctx, id.UserPrincipal, id.RefreshState)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if want := []string{"github_org://9002", "github_team://7003"}; !slices.Equal(groups, want) {
			t.Errorf("groups: got %q, want %q", groups, want)
		}
		if state != id.RefreshState {
			t.Error("GitHub tokens do not rotate: state must stay")
		}
	})
	t.Run("token of another user", func(t *testing.T) {
		_, _, err := p.Refresh(ctx, "github_user://1002", id.RefreshState)
		herdtest.WantProviderError(t, err, nil, id.RefreshState)
	})
	t.Run("no state", func(t *testing.T) {
		_, _, err := p.Refresh(ctx, id.UserPrincipal, "")
		herdtest.WantProviderError(t, err, github.ErrNoRefreshState)
	})
	t.Run("revoked token", func(t *testing.T) {
		gh.RevokeTokens("octocat")
		_, _, err := p.Refresh(ctx, id.UserPrincipal, id.RefreshState)
		herdtest.WantProviderError(t, err, authn.ErrUserGone, id.RefreshState)
	})
}

func TestSearch(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	user := func(id, name string) authn.Principal {
		return authn.Principal{ID: "github_user://" + id, Kind: "user", Provider: "github", Name: name}
	}
	group := func(id, name, display string) authn.Principal {
		return authn.Principal{ID: id, Kind: "group", Provider: "github", Name: name, DisplayName: display}
	}
	for _, tc := range []struct {
		name, query string
		limit       int
		want        []authn.Principal
	}{
		{"user", "octo", 0, []authn.Principal{user("1001", "octocat")}},
		{"org and its teams", "acme", 0, []authn.Principal{
			group("github_org://9001", "acme", ""),
			group("github_team://7001", "acme/devs", "Developers"),
			group("github_team://7002", "acme/ops", "Operations"),
		}},
		{"team by name", "admins", 0, []authn.Principal{group("github_team://7003", "globex/admins", "Admins")}},
		{"limit", "acme", 2, []authn.Principal{
			group("github_org://9001", "acme", ""),
			group("github_team://7001", "acme/devs", "Developers"),
		}},
		{"nothing", "zzz", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Search(context.Background(), tc.query, tc.limit)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("no search token", func(t *testing.T) {
		p := newProvider(t, gh, func(c *github.Config) { c.SearchToken = "" })
		_, err := p.Search(context.Background(), "octo", 0)
		herdtest.WantProviderError(t, err, github.ErrNoSearchToken)
	})
}

func TestUnavailable(t *testing.T) {
	gh := herdtest.StartGitHub(t)
	p := newProvider(t, gh, nil)
	ctx := context.Background()
	id := login(t, gh, p, "octocat").Exchange(t, p, redirectURL)
	f := login(t, gh, p, "octocat")

	t.Run("certificate not trusted", func(t *testing.T) {
		p := newProvider(t, gh, func(c *github.Config) { c.CAPEM = "" })
		_, err := p.Exchange(ctx, f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, f.Code, f.Verifier, gh.ClientSecret)
	})
	t.Run("GitHub down", func(t *testing.T) {
		gh.SetDown(true)
		defer gh.SetDown(false)
		_, err := p.Exchange(ctx, f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, f.Code, f.Verifier, gh.ClientSecret)
		_, _, err = p.Refresh(ctx, id.UserPrincipal, id.RefreshState)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, id.RefreshState)
		_, err = p.Search(ctx, "octo", 0)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, gh.SearchToken)
	})
	t.Run("GitHub unreachable", func(t *testing.T) {
		p := newProvider(t, gh, func(c *github.Config) { c.BaseURL = "https://127.0.0.1:1" })
		_, _, err := p.Refresh(ctx, id.UserPrincipal, id.RefreshState)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, id.RefreshState)
	})
}
