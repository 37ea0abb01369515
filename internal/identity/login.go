package identity

import (
	"context"
	"fmt"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
)

// PasswordLogin checks a username and password with a provider (empty:
// local users) and returns the user, or authn.ErrBadCredentials, ErrNoProvider
// or authn.ErrProviderUnavailable.
func (d *Directory) PasswordLogin(ctx context.Context, provider, username, password string) (*v1.User, error) {
	if provider == "" || provider == authn.ProviderLocal {
		return d.local.Login(ctx, username, password)
	}
	if password == "" {
		return nil, fmt.Errorf("%w: empty password", authn.ErrBadCredentials)
	}
	p, err := d.passwordProvider(ctx, provider)
	if err != nil {
		return nil, err
	}
	ident, err := p.Authenticate(ctx, username, password)
	if err != nil {
		return nil, err
	}
	return d.ExternalUser(ctx, ident)
}
