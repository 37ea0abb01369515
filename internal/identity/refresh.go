package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/index"
)

// externalPrincipal is the user's principal at an identity provider, or "".
func externalPrincipal(u *v1.User) string {
	for _, p := range u.Spec.PrincipalIDs {
		if !strings.HasPrefix(p, "local://") {
			return p
		}
	}
	return ""
}

// RefreshUser reads a user's groups again from their provider. A user the
// provider no longer has, or has disabled, loses every token and group.
func (d *Directory) RefreshUser(ctx context.Context, user *v1.User) error {
	principal := externalPrincipal(user)
	if principal == "" {
		return nil // local users have no provider groups
	}
	// Refresh tokens may rotate: one refresh per user at a time (on this
	// replica), or a reused old token reads as a user gone.
	mu, _ := d.refreshing.LoadOrStore(user.Name, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	typ := providerOfPrincipal(principal)
	p, err := d.Provider(ctx, typ)
	if errors.Is(err, ErrNoProvider) {
		// The provider was disabled (perhaps because it was compromised):
		// its users can no longer be vouched for.
		d.log.Info("identity provider disabled: revoking its user's tokens", "user", user.Name, "provider", typ)
		if err := d.RevokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
		return d.recordGroups(ctx, user, nil)
	}
	if err != nil {
		return err
	}
	r, ok := p.(authn.Refresher)
	if !ok {
		return fmt.Errorf("identity provider %s cannot refresh groups", typ)
	}
	before := d.refreshState(ctx, user.Name)
	groups, state, err := r.Refresh(ctx, principal, before)
	if errors.Is(err, authn.ErrUserGone) {
		// Refresh tokens rotate: if a login or another replica's refresh
		// rotated it meanwhile, ours was stale, not refused: retry once.
		if now := d.refreshState(ctx, user.Name); now != before {
			groups, state, err = r.Refresh(ctx, principal, now)
		}
	}
	if errors.Is(err, authn.ErrUserGone) {
		d.log.Info("user gone from the identity provider: revoking their tokens", "user", user.Name, "provider", typ)
		if err := d.RevokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
		return d.recordGroups(ctx, user, nil)
	}
	if err != nil {
		return fmt.Errorf("failed to refresh the groups of %s from %s: %w", user.Name, typ, err)
	}
	if state != "" {
		if err := d.saveRefreshState(ctx, user, state); err != nil {
			return err
		}
	}
	if err := d.MayLogIn(ctx, &authn.ExternalIdentity{Provider: typ, UserPrincipal: principal, Groups: groups}); err != nil {
		d.log.Info("user no longer allowed by the provider's access mode: revoking their tokens", "user", user.Name, "provider", typ)
		if err := d.RevokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
	}
	return d.recordGroups(ctx, user, groups)
}

// RevokeAllTokens deletes every token of a user.
func (d *Directory) RevokeAllTokens(ctx context.Context, userName string) error {
	var list v1.TokenList
	if err := d.cache.List(ctx, &list, client.MatchingFields{index.TokenUser: userName}); err != nil {
		return err
	}
	for i := range list.Items {
		if err := d.client.Delete(ctx, &list.Items[i]); client.IgnoreNotFound(err) != nil {
			return err
		}
		d.await(ctx, &list.Items[i], true)
	}
	return nil
}

// RefreshGroups runs on the leader: every GroupRefresh it refreshes the
// users of identity providers.
func (d *Directory) RefreshGroups(ctx context.Context) error {
	t := time.NewTicker(d.cfg.GroupRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var users v1.UserList
		if err := d.cache.List(ctx, &users); err != nil {
			continue
		}
		for i := range users.Items {
			u := &users.Items[i]
			if externalPrincipal(u) == "" || !u.Spec.Enabled {
				continue
			}
			if err := d.RefreshUser(ctx, u); err != nil && ctx.Err() == nil {
				d.log.Warn("group refresh failed; the user keeps the groups of the last refresh", "user", u.Name, "err", err)
			}
		}
	}
}
