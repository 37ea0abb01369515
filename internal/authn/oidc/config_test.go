package oidc

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestValidate(t *testing.T) {
	valid := Config{IssuerURL: "https://id.example.com/realms/herd", ClientID: "herd", ClientSecret: "s"}
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string // "" for none
	}{
		{"valid", func(*Config) {}, ""},
		{"http on loopback", func(c *Config) { c.IssuerURL = "http://127.0.0.1:5556/dex" }, ""},
		{"http on localhost", func(c *Config) { c.IssuerURL = "http://localhost:5556" }, ""},
		{"no issuer", func(c *Config) { c.IssuerURL = "" }, "issuerURL is required"},
		{"relative issuer", func(c *Config) { c.IssuerURL = "id.example.com" }, "issuerURL"},
		{"http elsewhere", func(c *Config) { c.IssuerURL = "http://id.example.com" }, "must be https"},
		{"issuer with query", func(c *Config) { c.IssuerURL = "https://id.example.com?x=1" }, "query"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "clientID is required"},
		{"no client secret", func(c *Config) { c.ClientSecret = "" }, "clientSecret is required"},
		{"scopes without openid", func(c *Config) { c.Scopes = []string{"profile"} }, "scopes must include openid"},
		{"negative timeout", func(c *Config) { c.HTTPTimeout = -time.Second }, "httpTimeout"},
		{"bad certificate", func(c *Config) { c.CAPEM = "not PEM" }, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if want := []string{"openid", "profile", "email", "offline_access", "groups"}; !slices.Equal(c.Scopes, want) {
		t.Errorf("Scopes: got %q, want %q", c.Scopes, want)
	}
	if c.GroupsClaim != "groups" || c.UsernameClaim != "preferred_username" || c.HTTPTimeout != 10*time.Second {
		t.Errorf("got %q %q %v, want groups preferred_username 10s", c.GroupsClaim, c.UsernameClaim, c.HTTPTimeout)
	}
	c = Config{GroupsClaim: "roles"}.withDefaults()
	if !slices.Contains(c.Scopes, "roles") {
		t.Errorf("Scopes: got %q, want the groups claim's scope roles", c.Scopes)
	}
}

func TestConfigFromSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     Config
		wantErr  string
	}{
		{"all", map[string]string{
			"issuerURL": " https://id.example.com ", "clientID": "herd", "scopes": "openid, email groups",
			"groupsClaim": "groups", "usernameClaim": "email", "certificate": "PEM", "httpTimeout": "3s",
		}, Config{IssuerURL: "https://id.example.com", ClientID: "herd", ClientSecret: "secret",
			Scopes: []string{"openid", "email", "groups"}, GroupsClaim: "groups", UsernameClaim: "email",
			CAPEM: "PEM", HTTPTimeout: 3 * time.Second}, ""},
		{"minimal", map[string]string{"issuerURL": "https://id.example.com", "clientID": "herd"},
			Config{IssuerURL: "https://id.example.com", ClientID: "herd", ClientSecret: "secret"}, ""},
		{"unknown key", map[string]string{"issuerUrl": "x"}, Config{}, `unknown setting "issuerUrl"`},
		{"bad timeout", map[string]string{"httpTimeout": "10"}, Config{}, "httpTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromSettings(tc.settings, "secret")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Scopes, tc.want.Scopes) {
				t.Errorf("Scopes: got %q, want %q", got.Scopes, tc.want.Scopes)
			}
			got.Scopes, tc.want.Scopes = nil, nil
			if got.IssuerURL != tc.want.IssuerURL || got.ClientID != tc.want.ClientID || got.ClientSecret != tc.want.ClientSecret ||
				got.GroupsClaim != tc.want.GroupsClaim || got.UsernameClaim != tc.want.UsernameClaim ||
				got.CAPEM != tc.want.CAPEM || got.HTTPTimeout != tc.want.HTTPTimeout {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		want    oauth2.AuthStyle
	}{
		{nil, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_post"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt"}, oauth2.AuthStyleInHeader},
	} {
		d := discoveryDoc{AuthMethods: tc.methods}
		if got := d.authStyle(); got != tc.want {
			t.Errorf("methods %q: got %v, want %v", tc.methods, got, tc.want)
		}
	}
}
