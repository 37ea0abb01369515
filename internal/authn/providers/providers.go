// Package providers maps the identity provider types of AuthConfigs to
// the packages that implement them.
package providers

import (
	"context"
	"log/slog"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/github"
	"herd.dev/herd/internal/authn/ldap"
	"herd.dev/herd/internal/authn/oidc"
	"herd.dev/herd/internal/authn/saml"
)

// Secret keys of the providers' Secrets.
const (
	KeyBindPassword = "bindPassword"
	KeyClientSecret = "clientSecret"
	KeySearchToken  = "searchToken"
	KeySPKey        = saml.SecretSPKey
)

// Factories returns a factory per provider type.
func Factories() map[string]authn.ProviderFactory {
	ldapFlavor := func(flavor string) authn.ProviderFactory {
		return func(_ context.Context, settings, secrets map[string]string, log *slog.Logger) (any, error) {
			cfg, err := ldap.ConfigFromSettings(flavor, settings, secrets[KeyBindPassword])
			if err != nil {
				return nil, err
			}
			return ldap.New(cfg, log)
		}
	}
	return map[string]authn.ProviderFactory{
		authn.ProviderOpenLDAP:        ldapFlavor(authn.ProviderOpenLDAP),
		authn.ProviderActiveDirectory: ldapFlavor(authn.ProviderActiveDirectory),
		authn.ProviderGitHub: func(_ context.Context, settings, secrets map[string]string, log *slog.Logger) (any, error) {
			cfg, err := github.ConfigFromSettings(settings, secrets[KeyClientSecret], secrets[KeySearchToken])
			if err != nil {
				return nil, err
			}
			cfg.Logger = log
			return github.New(cfg)
		},
		authn.ProviderOIDC: func(ctx context.Context, settings, secrets map[string]string, log *slog.Logger) (any, error) {
			cfg, err := oidc.ConfigFromSettings(settings, secrets[KeyClientSecret])
			if err != nil {
				return nil, err
			}
			cfg.Logger = log
			return oidc.New(ctx, cfg)
		},
		authn.ProviderSAML: func(ctx context.Context, settings, secrets map[string]string, log *slog.Logger) (any, error) {
			cfg, err := saml.ConfigFromSettings(settings, secrets[KeySPKey])
			if err != nil {
				return nil, err
			}
			cfg.Logger = log
			return saml.New(ctx, cfg)
		},
	}
}
