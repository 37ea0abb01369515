package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// refresher is an identity provider whose Refresh answers what it is told.
type refresher struct {
	groups []string
	err    error
}

func (r *refresher) Refresh(context.Context, string, string) ([]string, string, error) {
	return r.groups, "", r.err
}

// newDirectory is a Directory over a fake management cluster holding
// Herd's built-in roles and objs, with one identity provider of type
// oidc answering with p.
func newDirectory(t *testing.T, mod func(*identity.Config), p any, objs ...client.Object) (*identity.Directory, client.Client) {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.User{}, &v1.Token{})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	for _, r := range roles.GlobalRoles() {
		objs = append(objs, r)
	}
	c := b.WithObjects(objs...).Build()
	cfg := identity.Config{Client: c, Cache: c, API: c, Logger: slog.New(slog.DiscardHandler),
		Providers: map[string]authn.ProviderFactory{authn.ProviderOIDC: func(context.Context, map[string]string, map[string]string, *slog.Logger) (any, error) {
			return p, nil
		}}}
	if mod != nil {
		mod(&cfg)
	}
	d, err := identity.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

func TestMintTokenQuota(t *testing.T) {
	ctx := context.Background()
	d, c := newDirectory(t, func(c *identity.Config) { c.MaxTokensPerUser = 2 }, nil)
	user, err := d.CreateUser(ctx, "quota", "", []string{roles.GlobalUser})
	if err != nil {
		t.Fatal(err)
	}
	session := authn.TokenRequest{Kind: v1.TokenKindSession}
	_, first, err := d.MintToken(ctx, user, session, false)
	if err != nil {
		t.Fatal(err)
	}
	_, kubeconfig, err := d.MintToken(ctx, user, authn.TokenRequest{Kind: v1.TokenKindKubeconfig}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.MintToken(ctx, user, session, false); !errors.Is(err, identity.ErrTokenQuota) {
		t.Fatalf("a third token past a quota of 2: got %v, want ErrTokenQuota", err)
	}
	// A login makes room by ending the oldest session.
	_, second, err := d.MintToken(ctx, user, session, true)
	if err != nil {
		t.Fatalf("a login past the quota: %v", err)
	}
	live, err := d.LiveTokens(ctx, user.Name)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range live {
		names = append(names, tok.Name)
	}
	if len(names) != 2 || !slices.Contains(names, kubeconfig.Name) || !slices.Contains(names, second.Name) || slices.Contains(names, first.Name) {
		t.Errorf("live tokens %v: want the kubeconfig token %s and the new session %s, not the first %s", names, kubeconfig.Name, second.Name, first.Name)
	}
	var all v1.TokenList
	_ = c.List(ctx, &all)
	if len(all.Items) != 2 {
		t.Errorf("%d tokens stored, want 2", len(all.Items))
	}
}

func TestExternalUserAndRefresh(t *testing.T) {
	ctx := context.Background()
	p := &refresher{groups: []string{"oidc_group://idp/devs"}}
	ac := &v1.AuthConfig{ObjectMeta: metav1.ObjectMeta{Name: authn.ProviderOIDC}, Spec: v1.AuthConfigSpec{Type: authn.ProviderOIDC, Enabled: true,
		Settings: map[string]string{"allowedPrincipals": "oidc_group://idp/devs"}}}
	d, c := newDirectory(t, nil, p, ac)
	ident := &authn.ExternalIdentity{Provider: authn.ProviderOIDC, UserPrincipal: "oidc_user://idp/123", Username: "ann",
		Groups: []string{"oidc_group://idp/devs", "oidc_group://idp/devs"}}
	user, err := d.ExternalUser(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if user.Name != authn.ExternalUserObjectName(ident.UserPrincipal) {
		t.Errorf("user %s: want the name derived from the principal", user.Name)
	}
	var got v1.User
	if err := c.Get(ctx, client.ObjectKeyFromObject(user), &got); err != nil || strings.Join(got.Status.GroupPrincipals, ",") != "oidc_group://idp/devs" {
		t.Errorf("groups: got %v (%v), want the one group once", got.Status.GroupPrincipals, err)
	}
	if again, err := d.ExternalUser(ctx, ident); err != nil || again.Name != user.Name {
		t.Errorf("a second login: got %v %v, want the same user", again, err)
	}
	outsider := &authn.ExternalIdentity{Provider: authn.ProviderOIDC, UserPrincipal: "oidc_user://idp/999", Groups: []string{"oidc_group://idp/other"}}
	if _, err := d.ExternalUser(ctx, outsider); !errors.Is(err, authn.ErrBadCredentials) {
		t.Errorf("a user outside the allowed principals: got %v, want ErrBadCredentials", err)
	}

	// The provider says the user is gone: their tokens and groups go.
	if _, _, err := d.MintToken(ctx, &got, authn.TokenRequest{}, false); err != nil {
		t.Fatal(err)
	}
	p.err = authn.ErrUserGone
	if err := d.RefreshUser(ctx, &got); err != nil {
		t.Fatal(err)
	}
	live, _ := d.LiveTokens(ctx, got.Name)
	_ = c.Get(ctx, client.ObjectKeyFromObject(user), &got)
	if len(live) != 0 || len(got.Status.GroupPrincipals) != 0 {
		t.Errorf("after the provider said the user is gone: %d tokens, groups %v; want none", len(live), got.Status.GroupPrincipals)
	}
}

func TestFlows(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d, _ := newDirectory(t, func(c *identity.Config) { c.Now = func() time.Time { return now } }, nil)
	name := identity.FlowSecretName("login", "state-1")
	if err := d.SaveFlow(ctx, name, now.Add(time.Minute), map[string]string{"provider": "oidc"}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.OutstandingFlows(ctx, 10); err != nil || n != 1 {
		t.Errorf("outstanding flows: %d %v, want 1", n, err)
	}
	if got, err := d.TakeFlow(ctx, name); err != nil || got["provider"] != "oidc" {
		t.Fatalf("take: %v %v", got, err)
	}
	if _, err := d.TakeFlow(ctx, name); !errors.Is(err, authn.ErrFlow) {
		t.Errorf("a second take: got %v, want ErrFlow", err)
	}
	expired := identity.FlowSecretName("ticket", "t-1")
	if err := d.SaveFlow(ctx, expired, now.Add(-time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.TakeFlow(ctx, expired); !errors.Is(err, authn.ErrFlow) {
		t.Errorf("an expired flow: got %v, want ErrFlow", err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, c := newDirectory(t, func(c *identity.Config) { c.DataDir = dir }, nil)
	if err := d.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	password, err := os.ReadFile(filepath.Join(dir, "bootstrap-password"))
	if err != nil || len(strings.TrimSpace(string(password))) < 40 {
		t.Fatalf("generated password: %q %v", password, err)
	}
	var secret corev1.Secret
	name := authn.PasswordSecretName(authn.UserObjectName(identity.BootstrapUsername))
	if err := c.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: name}, &secret); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(secret.Data["hash"]), strings.TrimSpace(string(password))) {
		t.Error("the password is stored, not its hash")
	}
	// A second start keeps the admin and its password.
	if err := d.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "bootstrap-password")); string(again) != string(password) {
		t.Error("a second start changed the bootstrap password")
	}
}

func TestRevokeToken(t *testing.T) {
	ctx := context.Background()
	d, c := newDirectory(t, nil, nil)
	alice, err := d.CreateUser(ctx, "alice", "", []string{roles.GlobalUser})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := d.CreateUser(ctx, "bob", "", []string{roles.GlobalUser})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := d.MintToken(ctx, alice, authn.TokenRequest{Kind: v1.TokenKindSession}, false)
	if err != nil {
		t.Fatal(err)
	}
	asAlice := &authn.Identity{UserName: alice.Name}
	asBob := &authn.Identity{UserName: bob.Name}
	for _, tt := range []struct {
		name    string
		caller  *authn.Identity
		token   string
		anyUser bool
		want    error
	}{
		{"another's token is absent", asBob, tok.Name, false, identity.ErrNoToken},
		{"no such token", asAlice, "t-nonexistent", false, identity.ErrNoToken},
		{"too long a name", asAlice, strings.Repeat("t", 64), false, identity.ErrNoToken},
		{"one's own", asAlice, tok.Name, false, nil},
		{"anyone's, with the right", asBob, tok.Name, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.RevokeToken(ctx, tt.caller, tt.token, tt.anyUser)
			if !errors.Is(err, tt.want) {
				t.Fatalf("RevokeToken: %v, want %v", err, tt.want)
			}
			var stored v1.Token
			if err := c.Get(ctx, client.ObjectKey{Name: tok.Name}, &stored); err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				return
			}
			if got.Spec.Enabled || stored.Spec.Enabled || stored.Spec.ExpiresAt.After(time.Now()) {
				t.Errorf("revoked token: enabled %v, expires %v; want disabled and expired", stored.Spec.Enabled, stored.Spec.ExpiresAt)
			}
		})
	}
}
