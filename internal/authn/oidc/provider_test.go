package oidc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/oidc"
	"herd.dev/herd/internal/herdtest"
)

const redirectURL = "http://127.0.0.1:9/v1/auth/oidc/callback"

func newProvider(t *testing.T, op *herdtest.OIDCProvider, c herdtest.OIDCClient) *oidc.Provider {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := oidc.New(ctx, oidc.Config{
		IssuerURL:    op.Issuer,
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		HTTPTimeout:  5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// login plays the browser for username and checks the callback's state
// as Herd's callback handler does.
func login(t *testing.T, op *herdtest.OIDCProvider, p *oidc.Provider, username string) herdtest.RedirectFlow {
	t.Helper()
	f := herdtest.NewRedirectFlow()
	q := op.Login(t, p.AuthCodeURL(f.State, f.Verifier, redirectURL), redirectURL, username, op.User(t, username).Password)
	code, err := oidc.Callback(q, f.State)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	f.Code = code
	return f
}

func TestProvider(t *testing.T) {
	op := herdtest.StartOIDCProvider(t)
	userinfoClient := newProvider(t, op, op.Client)
	idTokenClient := newProvider(t, op, op.IDTokenClient)
	group := func(name string) string { return "oidc_group://" + op.Issuer + "/" + name }

	for _, tc := range []struct {
		name, client, user string
		wantName           string
		wantGroups         []string
	}{
		{"claims from userinfo", "userinfo", "alice", "Alice Liddell", []string{group("devs"), group("ops")}},
		{"claims in the ID token", "idtoken", "carol", "Carol Danvers", []string{group("devs"), group("team a/b")}},
		{"user in no group", "userinfo", "bob", "Bob Builder", nil},
	} {
		t.Run("login/"+tc.name, func(t *testing.T) {
			p := userinfoClient
			if tc.client == "idtoken" {
				p = idTokenClient
			}
			id := login(t, op, p, tc.user).Exchange(t, p, redirectURL)
			u := op.User(t, tc.user)
			if want := "oidc_user://" + op.Issuer + "/" + u.ID; id.UserPrincipal != want {
				t.Errorf("UserPrincipal: got %q, want %q", id.UserPrincipal, want)
			}
			if id.Provider != authn.ProviderOIDC || id.Username != tc.user || id.DisplayName != tc.wantName {
				t.Errorf("got provider %q username %q name %q, want oidc %q %q", id.Provider, id.Username, id.DisplayName, tc.user, tc.wantName)
			}
			if !slices.Equal(id.Groups, tc.wantGroups) {
				t.Errorf("Groups: got %q, want %q", id.Groups, tc.wantGroups)
			}
			if id.RefreshState == "" {
				t.Error("no RefreshState (refresh token)")
			}
		})
	}

	t.Run("state mismatch refused", func(t *testing.T) {
		f := herdtest.NewRedirectFlow()
		q := op.Login(t, userinfoClient.AuthCodeURL(f.State, f.Verifier, redirectURL), redirectURL, "alice", op.User(t, "alice").Password)
		_, err := oidc.Callback(q, rand.Text())
		herdtest.WantProviderError(t, err, authn.ErrFlow, q.Get("code"), q.Get("state"))
	})

	t.Run("PKCE verifier mismatch refused", func(t *testing.T) {
		f := login(t, op, userinfoClient, "alice")
		other := oauth2.GenerateVerifier()
		_, err := userinfoClient.Exchange(context.Background(), f.Code, other, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, other, op.Client.Secret)
	})

	t.Run("replayed code refused", func(t *testing.T) {
		f := login(t, op, userinfoClient, "alice")
		f.Exchange(t, userinfoClient, redirectURL)
		_, err := userinfoClient.Exchange(context.Background(), f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, f.Verifier, op.Client.Secret)
	})

	t.Run("redirect URL mismatch refused", func(t *testing.T) {
		f := login(t, op, userinfoClient, "alice")
		_, err := userinfoClient.Exchange(context.Background(), f.Code, f.Verifier, redirectURL+"/other")
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, f.Verifier)
	})

	t.Run("code of another client refused", func(t *testing.T) {
		f := login(t, op, userinfoClient, "alice")
		_, err := idTokenClient.Exchange(context.Background(), f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrFlow, f.Code, f.Verifier, op.IDTokenClient.Secret)
	})

	t.Run("refresh reads the groups again", func(t *testing.T) {
		for _, p := range []*oidc.Provider{userinfoClient, idTokenClient} {
			id := login(t, op, p, "alice").Exchange(t, p, redirectURL)
			op.SetGroups(t, "alice", "admins", "devs")
			t.Cleanup(func() { op.SetGroups(t, "alice", "ops", "devs") })
			groups, state, err := p.Refresh(context.Background(), id.UserPrincipal, id.RefreshState)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if want := []string{group("admins"), group("devs")}; !slices.Equal(groups, want) {
				t.Errorf("groups: got %q, want %q", groups, want)
			}
			if state == "" || state == id.RefreshState {
				t.Error("the provider rotates refresh tokens; Refresh must return the new one")
			}
			// The rotated-out refresh token is refused: the user is gone
			// as far as that state goes.
			_, _, err = p.Refresh(context.Background(), id.UserPrincipal, id.RefreshState)
			herdtest.WantProviderError(t, err, authn.ErrUserGone, id.RefreshState)
			if _, _, err := p.Refresh(context.Background(), id.UserPrincipal, state); err != nil {
				t.Errorf("Refresh with the new state: %v", err)
			}
			op.SetGroups(t, "alice", "ops", "devs")
		}
	})

	t.Run("refresh of a deleted user", func(t *testing.T) {
		id := login(t, op, idTokenClient, "carol").Exchange(t, idTokenClient, redirectURL)
		op.DeleteUser(t, "carol")
		_, _, err := idTokenClient.Refresh(context.Background(), id.UserPrincipal, id.RefreshState)
		herdtest.WantProviderError(t, err, authn.ErrUserGone, id.RefreshState, op.IDTokenClient.Secret)
	})

	t.Run("refresh of another issuer's user", func(t *testing.T) {
		_, _, err := userinfoClient.Refresh(context.Background(), "oidc_user://https://elsewhere.example/u-alice", "state")
		if err == nil || errors.Is(err, authn.ErrUserGone) {
			t.Fatalf("got %v, want a plain error", err)
		}
	})

	t.Run("refresh without state", func(t *testing.T) {
		_, _, err := userinfoClient.Refresh(context.Background(), "oidc_user://"+op.Issuer+"/u-alice", "")
		herdtest.WantProviderError(t, err, oidc.ErrNoRefreshState)
	})

	t.Run("issuer mismatch", func(t *testing.T) {
		other := strings.Replace(op.Issuer, "127.0.0.1", "localhost", 1)
		_, err := oidc.New(context.Background(), oidc.Config{IssuerURL: other, ClientID: op.Client.ID, ClientSecret: op.Client.Secret})
		if err == nil || errors.Is(err, authn.ErrProviderUnavailable) || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("got %v, want an issuer mismatch", err)
		}
	})

	// Last: stops the provider.
	t.Run("issuer down", func(t *testing.T) {
		f := login(t, op, userinfoClient, "alice")
		id := login(t, op, userinfoClient, "alice").Exchange(t, userinfoClient, redirectURL)
		op.Stop()
		if pids := herdtest.ProcessesMentioning(op.Dir); len(pids) > 0 {
			t.Errorf("provider processes left: %v", pids)
		}
		_, err := oidc.New(context.Background(), oidc.Config{IssuerURL: op.Issuer, ClientID: op.Client.ID, ClientSecret: op.Client.Secret})
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, op.Client.Secret)
		_, err = userinfoClient.Exchange(context.Background(), f.Code, f.Verifier, redirectURL)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, f.Code, f.Verifier, op.Client.Secret)
		_, _, err = userinfoClient.Refresh(context.Background(), id.UserPrincipal, id.RefreshState)
		herdtest.WantProviderError(t, err, authn.ErrProviderUnavailable, id.RefreshState, op.Client.Secret)
	})
}
