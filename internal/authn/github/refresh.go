package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"herd.dev/herd/internal/authn"
)

// ErrNoRefreshState is what Refresh returns without the user's token.
var ErrNoRefreshState = errors.New("github: no access token to read the groups again")

// Refresh reads the user's orgs and teams again with the access token
// (state) from the login. A token GitHub no longer takes (the user
// revoked the app, or was deleted: 401) or a suspended user (403 on
// /user) is authn.ErrUserGone. The state does not change.
func (p *Provider) Refresh(ctx context.Context, principal, state string) ([]string, string, error) {
	if state == "" {
		return nil, "", ErrNoRefreshState
	}
	u, err := p.user(ctx, state)
	if s := statusOf(err); s == http.StatusUnauthorized || (s == http.StatusForbidden && !rateLimited(err)) {
		return nil, "", fmt.Errorf("%w: %v", authn.ErrUserGone, err)
	} else if err != nil {
		return nil, "", err
	}
	if got := userPrincipal(u.ID); got != principal {
		return nil, "", fmt.Errorf("github: the token is of %s, not %s", got, principal)
	}
	groups, err := p.groups(ctx, state)
	if statusOf(err) == http.StatusUnauthorized {
		return nil, "", fmt.Errorf("%w: %v", authn.ErrUserGone, err)
	} else if err != nil {
		return nil, "", err
	}
	return groups, state, nil
}

// rateLimited reports whether a 403 is GitHub's (secondary) rate limit,
// which passes, rather than a suspended user.
func rateLimited(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "rate limit")
}
