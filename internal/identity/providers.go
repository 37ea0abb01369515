package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/wellknown"
)

// providerCache builds identity providers from their AuthConfigs (one per
// type, named after it) and keeps them until the AuthConfig or its Secret
// changes.
type providerCache struct {
	mu       sync.Mutex
	built    map[string]builtProvider // by type
	building singleflight.Group
}

type builtProvider struct {
	version string // resourceVersions of the AuthConfig and its Secret
	p       any
}

// ProviderSecretName is the Secret (in wellknown.Namespace) with a provider's secrets.
func ProviderSecretName(typ string) string { return "authconfig-" + typ }

// Provider returns the enabled provider of a type.
func (d *Directory) Provider(ctx context.Context, typ string) (any, error) {
	factory, ok := d.cfg.Providers[typ]
	if !ok {
		return nil, fmt.Errorf("%w: no identity provider of type %q", ErrNoProvider, typ)
	}
	var ac v1.AuthConfig
	if err := d.cache.Get(ctx, client.ObjectKey{Name: typ}, &ac); err != nil || !ac.Spec.Enabled {
		return nil, fmt.Errorf("%w: identity provider %s is not enabled", ErrNoProvider, typ)
	}
	secrets, secretRV, err := d.ProviderSecrets(ctx, typ)
	if err != nil {
		return nil, err
	}
	version := ac.ResourceVersion + "/" + secretRV
	d.providers.mu.Lock()
	b, ok := d.providers.built[typ]
	d.providers.mu.Unlock()
	if ok && b.version == version {
		return b.p, nil
	}
	// Built outside the lock (OIDC discovery takes a round trip), once per
	// type and version however many requests ask, and not cut short when
	// the request that happened to ask first goes away.
	p, err, _ := d.providers.building.Do(typ+"/"+version, func() (any, error) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		p, err := factory(bctx, ProviderSettings(ac.Spec.Settings), secrets, d.log.With("provider", typ))
		if err != nil {
			return nil, fmt.Errorf("identity provider %s: %w", typ, err)
		}
		d.providers.mu.Lock()
		if d.providers.built == nil {
			d.providers.built = map[string]builtProvider{}
		}
		d.providers.built[typ] = builtProvider{version: version, p: p}
		d.providers.mu.Unlock()
		return p, nil
	})
	return p, err
}

// ErrNoProvider: no enabled identity provider of the asked type (its
// message, after the prefix, names it).
var ErrNoProvider = errors.New("identity: provider not available")

// ProviderSecrets reads a provider's Secret (uncached: Secrets never are).
func (d *Directory) ProviderSecrets(ctx context.Context, typ string) (map[string]string, string, error) {
	var secret corev1.Secret
	err := d.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: ProviderSecretName(typ)}, &secret)
	if apierrors.IsNotFound(err) {
		return map[string]string{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	out := map[string]string{}
	for k, v := range secret.Data {
		out[k] = string(v)
	}
	return out, secret.ResourceVersion, nil
}

// providerOfPrincipal is the provider type of a user principal id
// (openldap_user://... -> openldap).
func providerOfPrincipal(principal string) string {
	scheme, _, ok := strings.Cut(principal, "://")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSuffix(scheme, "_user"), "_group")
}

// passwordProvider returns the password provider of a type ("" or local:
// Herd's local users).
func (d *Directory) passwordProvider(ctx context.Context, typ string) (authn.PasswordProvider, error) {
	p, err := d.Provider(ctx, typ)
	if err != nil {
		return nil, err
	}
	pp, ok := p.(authn.PasswordProvider)
	if !ok {
		return nil, fmt.Errorf("%w: %s does not take passwords; log in with the browser", ErrNoProvider, typ)
	}
	return pp, nil
}

// Settings of every AuthConfig that Herd itself reads (not the provider).
const (
	// settingAccessMode is "unrestricted" (anyone the provider knows may
	// log in) or "restricted" (only allowedPrincipals). The default is
	// unrestricted for directories (LDAP, Active Directory) and restricted
	// for GitHub and OIDC, where anyone with an account could log in.
	settingAccessMode = "accessMode"
	// settingAllowedPrincipals lists, comma-separated, the user and group
	// principals that may log in when the access mode is restricted.
	settingAllowedPrincipals = "allowedPrincipals"
)

// ProviderSettings are the settings the provider itself reads.
func ProviderSettings(all map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range all {
		if k != settingAccessMode && k != settingAllowedPrincipals {
			out[k] = v
		}
	}
	return out
}

// CheckAccessSettings returns what is wrong with Herd's own settings.
func CheckAccessSettings(settings map[string]string) error {
	switch settings[settingAccessMode] {
	case "", "restricted", "unrestricted":
		return nil
	}
	return fmt.Errorf("setting %s must be restricted or unrestricted", settingAccessMode)
}

// MayLogIn reports whether an identity may log in under its provider's
// access mode.
func (d *Directory) MayLogIn(ctx context.Context, ident *authn.ExternalIdentity) error {
	var ac v1.AuthConfig
	if err := d.cache.Get(ctx, client.ObjectKey{Name: ident.Provider}, &ac); err != nil {
		return err
	}
	mode := ac.Spec.Settings[settingAccessMode]
	if mode == "" {
		mode = "unrestricted"
		if authn.IsBrowserProvider(ident.Provider) {
			mode = "restricted"
		}
	}
	if mode == "unrestricted" {
		return nil
	}
	for _, p := range strings.Split(ac.Spec.Settings[settingAllowedPrincipals], ",") {
		p = strings.TrimSpace(p)
		if p != "" && (p == ident.UserPrincipal || slices.Contains(ident.Groups, p)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not among the allowed principals of %s", authn.ErrBadCredentials, ident.UserPrincipal, ident.Provider)
}
