package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// ErrInvalidProvider: an unknown provider type, or a configuration that
// the provider or Herd refuses; the message, after the prefix, says what.
var ErrInvalidProvider = errors.New("identity: invalid provider configuration")

// maxProviderSettings bounds an AuthConfig's settings and secrets.
const maxProviderSettings = 64

// ProviderUpdate changes a provider's configuration.
type ProviderUpdate struct {
	// Enabled, if set, enables or disables the provider.
	Enabled *bool
	// Settings, if not nil, replace the settings.
	Settings map[string]string
	// Secrets are merged into the provider's secrets; "" removes one.
	Secrets map[string]string
}

// ConfigureProvider stores the configuration of the provider of type typ
// and returns it with the names of its secrets. Enabling a provider builds
// it first (for LDAP: binds the service account), so that a bad setting
// fails now rather than logins later; a browser-login provider needs the
// server's public URL (serverURL).
func (d *Directory) ConfigureProvider(ctx context.Context, typ string, u ProviderUpdate, serverURL string) (*v1.AuthConfig, []string, error) {
	factory, ok := d.cfg.Providers[typ]
	if !ok {
		return nil, nil, fmt.Errorf("%w: unknown identity provider %s; Herd has %s", ErrInvalidProvider, typ,
			strings.Join(slices.Sorted(maps.Keys(d.cfg.Providers)), ", "))
	}
	if len(u.Settings) > maxProviderSettings || len(u.Secrets) > maxProviderSettings {
		return nil, nil, fmt.Errorf("%w: too many settings", ErrInvalidProvider)
	}
	var ac v1.AuthConfig
	err := d.api.Get(ctx, client.ObjectKey{Name: typ}, &ac)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, nil, err
	}
	exists := err == nil
	ac.Name, ac.Spec.Type, ac.Spec.SecretRef = typ, typ, ProviderSecretName(typ)
	if u.Settings != nil {
		ac.Spec.Settings = u.Settings
	}
	if u.Enabled != nil {
		ac.Spec.Enabled = *u.Enabled
	}
	secrets, _, err := d.ProviderSecrets(ctx, typ)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range u.Secrets {
		if v == "" {
			delete(secrets, k)
		} else {
			secrets[k] = v
		}
	}
	if err := CheckAccessSettings(ac.Spec.Settings); err != nil {
		return nil, nil, fmt.Errorf("%w: identity provider %s: %s", ErrInvalidProvider, typ, err.Error())
	}
	if ac.Spec.Enabled {
		p, err := factory(ctx, ProviderSettings(ac.Spec.Settings), secrets, d.log.With("provider", typ))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: identity provider %s: %s", ErrInvalidProvider, typ, err.Error())
		}
		if _, browser := p.(authn.RedirectProvider); browser && serverURL == "" {
			return nil, nil, fmt.Errorf("%w: identity provider %s logs users in through the browser, which needs the server's public URL: "+
				"start herd server with --server-url https://HOST[:PORT] (the provider sends browsers back to HOST/v1/auth/callback/%s)",
				ErrInvalidProvider, typ, typ)
		}
	}
	if err := d.writeProviderSecret(ctx, typ, secrets); err != nil {
		return nil, nil, err
	}
	if exists {
		err = d.client.Update(ctx, &ac)
	} else {
		err = d.client.Create(ctx, &ac)
	}
	if err != nil {
		return nil, nil, err
	}
	store.Await(ctx, d.cache, &ac, false, d.log)
	return &ac, slices.Sorted(maps.Keys(secrets)), nil
}

func (d *Directory) writeProviderSecret(ctx context.Context, typ string, values map[string]string) error {
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: ProviderSecretName(typ), Namespace: wellknown.Namespace},
		Data:       map[string][]byte{},
	}
	for k, v := range values {
		secret.Data[k] = []byte(v)
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := d.client.Patch(ctx, secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to store the secrets of identity provider %s: %w", typ, err)
	}
	return nil
}
