package herdclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestAuthEndpoints(t *testing.T) {
	ctx := context.Background()
	yes := true
	github := herdapi.Provider{Type: "github", Enabled: true, Flow: "redirect", Settings: map[string]string{"clientId": "abc"}, SecretKeys: []string{"clientSecret"}}
	token := herdapi.TokenResponse{Token: "secret", Info: herdapi.TokenInfo{Name: "t-1", Kind: "session", CreatedAt: created}}
	user := herdapi.User{Name: "u-abc", Username: "alice", Enabled: true, Groups: []string{"github_team://1"}, CreatedAt: created}
	principal := herdapi.Principal{ID: "github_team://1", Kind: "group", Provider: "github", Name: "org/devs"}
	testEndpoints(t, []endpointTest{
		{"login with a provider", func(c *Client) (any, error) {
			return c.Login(ctx, herdapi.LoginRequest{Username: "alice", Password: "pw", Provider: "openldap"})
		}, 201, token, "POST", "/v1/login", `{"username":"alice","password":"pw","provider":"openldap"}`, ""},
		{"list providers", func(c *Client) (any, error) { return c.ListProviders(ctx) },
			200, herdapi.ProviderList{Items: []herdapi.Provider{github}}, "GET", "/v1/auth/providers", "", "Bearer tok"},
		{"get provider", func(c *Client) (any, error) { return c.GetProvider(ctx, "github") },
			200, github, "GET", "/v1/auth/providers/github", "", "Bearer tok"},
		{"update provider", func(c *Client) (any, error) {
			return c.UpdateProvider(ctx, "github", herdapi.ProviderUpdate{Enabled: &yes, Settings: map[string]string{"clientId": "abc"}, Secrets: map[string]string{"clientSecret": "s"}})
		}, 200, github, "PUT", "/v1/auth/providers/github", `{"enabled":true,"settings":{"clientId":"abc"},"secrets":{"clientSecret":"s"}}`, "Bearer tok"},
		{"start redirect login without token", func(c *Client) (any, error) {
			return c.StartRedirectLogin(ctx, "oidc", herdapi.RedirectLoginRequest{CLIRedirect: "http://127.0.0.1:5/callback", CLIChallenge: "ch"})
		}, 200, herdapi.RedirectLoginResponse{AuthURL: "https://idp/auth?state=s", ExpiresAt: created},
			"POST", "/v1/auth/login/oidc", `{"cliRedirect":"http://127.0.0.1:5/callback","cliChallenge":"ch"}`, ""},
		{"redeem ticket without token", func(c *Client) (any, error) {
			return c.RedeemTicket(ctx, herdapi.TicketRedeemRequest{Ticket: "t", Verifier: "v", Kind: "session"})
		}, 201, token, "POST", "/v1/auth/tickets", `{"ticket":"t","verifier":"v","kind":"session"}`, ""},
		{"search principals escapes", func(c *Client) (any, error) { return c.SearchPrincipals(ctx, "org/dev s&x") },
			200, herdapi.PrincipalList{Items: []herdapi.Principal{principal}}, "GET", "/v1/principals?q=org%2Fdev+s%26x", "", "Bearer tok"},
		{"refresh user", func(c *Client) (any, error) { return c.RefreshUser(ctx, "alice") },
			200, user, "POST", "/v1/users/alice/refresh", "", "Bearer tok"},
	})
}

func TestAuthInvalidNames(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"get provider", func(c *Client) error { _, err := c.GetProvider(ctx, ".."); return err }, `invalid identity provider name ".."`},
		{"update provider", func(c *Client) error {
			_, err := c.UpdateProvider(ctx, "", herdapi.ProviderUpdate{})
			return err
		}, `invalid identity provider name ""`},
		{"redirect login", func(c *Client) error {
			_, err := c.StartRedirectLogin(ctx, ".", herdapi.RedirectLoginRequest{})
			return err
		}, `invalid identity provider name "."`},
		{"empty search", func(c *Client) error { _, err := c.SearchPrincipals(ctx, ""); return err }, "empty principal query"},
		{"refresh", func(c *Client) error { _, err := c.RefreshUser(ctx, ".."); return err }, `invalid user name ".."`},
	}
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %s", err, tt.want)
			}
		})
	}
	if len(ts.requests) != 0 {
		t.Errorf("got %d requests, want none", len(ts.requests))
	}
}

func TestNewVerifier(t *testing.T) {
	v1, c1 := NewVerifier()
	v2, _ := NewVerifier()
	raw, err := base64.RawURLEncoding.DecodeString(v1)
	if err != nil || len(raw) != 32 {
		t.Errorf("verifier %q: got %d bytes (%v), want 32 bytes of base64url without padding", v1, len(raw), err)
	}
	sum := sha256.Sum256([]byte(v1))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); c1 != want || Challenge(v1) != want {
		t.Errorf("challenge: got %q, want %q", c1, want)
	}
	if strings.ContainsAny(c1+v1, "=+/") {
		t.Errorf("verifier %q or challenge %q is not unpadded base64url", v1, c1)
	}
	if v1 == v2 {
		t.Error("two verifiers are equal")
	}
}
