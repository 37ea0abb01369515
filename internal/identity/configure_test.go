package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/identity"
)

// redirector is a browser-login provider that is never asked to log in.
type redirector struct{}

func (redirector) AuthCodeURL(string, string, string) string { return "" }
func (redirector) Exchange(context.Context, string, string, string) (*authn.ExternalIdentity, error) {
	return nil, errors.New("not used")
}

func TestConfigureProvider(t *testing.T) {
	on, off := true, false
	ldap := func(_ context.Context, settings, _ map[string]string, _ *slog.Logger) (any, error) {
		if settings["servers"] == "" {
			return nil, errors.New("servers is required")
		}
		return &refresher{}, nil
	}
	for _, tt := range []struct {
		name       string
		typ        string
		update     identity.ProviderUpdate
		serverURL  string
		wantErr    error
		wantSecret []string
	}{
		{name: "an unknown type", typ: "saml", update: identity.ProviderUpdate{Enabled: &on}, wantErr: identity.ErrInvalidProvider},
		{name: "a provider that refuses its settings", typ: authn.ProviderOpenLDAP, update: identity.ProviderUpdate{Enabled: &on}, wantErr: identity.ErrInvalidProvider},
		{name: "a disabled provider is not built", typ: authn.ProviderOpenLDAP, update: identity.ProviderUpdate{Enabled: &off}, wantSecret: []string{}},
		{name: "a bad access mode", typ: authn.ProviderOpenLDAP,
			update: identity.ProviderUpdate{Enabled: &off, Settings: map[string]string{"accessMode": "open"}}, wantErr: identity.ErrInvalidProvider},
		{name: "too many settings", typ: authn.ProviderOpenLDAP,
			update: identity.ProviderUpdate{Settings: many(65)}, wantErr: identity.ErrInvalidProvider},
		{name: "an enabled provider with its secrets", typ: authn.ProviderOpenLDAP,
			update:     identity.ProviderUpdate{Enabled: &on, Settings: map[string]string{"servers": "ldap.example.com"}, Secrets: map[string]string{"bindPassword": "pw", "other": ""}},
			wantSecret: []string{"bindPassword"}},
		{name: "a browser login without the server's URL", typ: authn.ProviderOIDC, update: identity.ProviderUpdate{Enabled: &on}, wantErr: identity.ErrInvalidProvider},
		{name: "a browser login with the server's URL", typ: authn.ProviderOIDC, update: identity.ProviderUpdate{Enabled: &on},
			serverURL: "https://herd.example.com", wantSecret: []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newDirectory(t, func(c *identity.Config) { c.Providers[authn.ProviderOpenLDAP] = ldap }, redirector{})
			ac, secrets, err := d.ConfigureProvider(context.Background(), tt.typ, tt.update, tt.serverURL)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("the error shows a secret: %v", err)
				}
				return
			}
			if ac.Name != tt.typ || ac.Spec.Enabled != (tt.update.Enabled != nil && *tt.update.Enabled) || !slices.Equal(secrets, tt.wantSecret) {
				t.Errorf("got %s enabled %v secrets %v, want %s enabled %v secrets %v", ac.Name, ac.Spec.Enabled, secrets,
					tt.typ, *tt.update.Enabled, tt.wantSecret)
			}
			stored, _, err := d.ProviderSecrets(context.Background(), tt.typ)
			if err != nil || len(stored) != len(tt.wantSecret) {
				t.Errorf("stored secrets: got %v (%v), want %v", stored, err, tt.wantSecret)
			}
		})
	}
}

func many(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[strings.Repeat("k", i+1)] = "v"
	}
	return m
}
