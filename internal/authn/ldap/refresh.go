package ldap

import (
	"context"
	"fmt"

	"herd.dev/herd/internal/authn"
)

// Refresh reads the groups of userPrincipal again, as the service account:
// by objectGUID for AD principals that have one, else by DN. A user that
// is no longer there, no longer matches UserObjectClass or is disabled is
// authn.ErrUserGone. state is returned as is: LDAP needs none.
func (p *Provider) Refresh(ctx context.Context, userPrincipal, state string) ([]string, string, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, state, err
	}
	defer c.Close()
	entry, err := p.findPrincipal(c, userPrincipal)
	if err != nil {
		return nil, state, err
	}
	if p.disabled(entry) {
		return nil, state, fmt.Errorf("%w: %s is disabled (userAccountControl)", authn.ErrUserGone, entry.DN)
	}
	groups, err := p.groups(c, entry)
	if err != nil {
		return nil, state, err
	}
	return groups, state, nil
}
