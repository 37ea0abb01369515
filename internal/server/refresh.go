package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// refreshUser reads a user's groups again from their provider. A user the
// provider no longer has, or has disabled, loses every token and group.
func (s *Server) refreshUser(ctx context.Context, user *v1.User) error {
	principal := externalPrincipal(user)
	if principal == "" {
		return nil // local users have no provider groups
	}
	// Refresh tokens may rotate: one refresh per user at a time (on this
	// replica), or a reused old token reads as a user gone.
	mu, _ := s.refreshing.LoadOrStore(user.Name, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	typ := providerOfPrincipal(principal)
	p, err := s.provider(ctx, typ)
	if errors.Is(err, errNoProvider) {
		// The provider was disabled (perhaps because it was compromised):
		// its users can no longer be vouched for.
		s.cfg.Logger.Info("identity provider disabled: revoking its user's tokens", "user", user.Name, "provider", typ)
		if err := s.revokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
		return s.recordGroups(ctx, user, nil)
	}
	if err != nil {
		return err
	}
	r, ok := p.(authn.Refresher)
	if !ok {
		return fmt.Errorf("identity provider %s cannot refresh groups", typ)
	}
	before := s.refreshState(ctx, user.Name)
	groups, state, err := r.Refresh(ctx, principal, before)
	if errors.Is(err, authn.ErrUserGone) {
		// Refresh tokens rotate: if a login or another replica's refresh
		// rotated it meanwhile, ours was stale, not refused: retry once.
		if now := s.refreshState(ctx, user.Name); now != before {
			groups, state, err = r.Refresh(ctx, principal, now)
		}
	}
	if errors.Is(err, authn.ErrUserGone) {
		s.cfg.Logger.Info("user gone from the identity provider: revoking their tokens", "user", user.Name, "provider", typ)
		if err := s.revokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
		return s.recordGroups(ctx, user, nil)
	}
	if err != nil {
		return fmt.Errorf("failed to refresh the groups of %s from %s: %w", user.Name, typ, err)
	}
	if state != "" {
		if err := s.saveRefreshState(ctx, user, state); err != nil {
			return err
		}
	}
	if err := s.mayLogIn(ctx, &authn.ExternalIdentity{Provider: typ, UserPrincipal: principal, Groups: groups}); err != nil {
		s.cfg.Logger.Info("user no longer allowed by the provider's access mode: revoking their tokens", "user", user.Name, "provider", typ)
		if err := s.revokeAllTokens(ctx, user.Name); err != nil {
			return err
		}
	}
	return s.recordGroups(ctx, user, groups)
}

// revokeAllTokens deletes every token of a user.
func (s *Server) revokeAllTokens(ctx context.Context, userName string) error {
	var list v1.TokenList
	if err := s.cache.List(ctx, &list, client.MatchingFields{index.TokenUser: userName}); err != nil {
		return err
	}
	for i := range list.Items {
		if err := s.client.Delete(ctx, &list.Items[i]); client.IgnoreNotFound(err) != nil {
			return err
		}
		s.awaitCache(ctx, &list.Items[i], true)
	}
	return nil
}

// refreshGroups runs on the leader: every GroupRefresh it refreshes the
// users of identity providers.
func (s *Server) refreshGroups(ctx context.Context) error {
	t := time.NewTicker(s.cfg.GroupRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var users v1.UserList
		if err := s.cache.List(ctx, &users); err != nil {
			continue
		}
		for i := range users.Items {
			u := &users.Items[i]
			if externalPrincipal(u) == "" || !u.Spec.Enabled {
				continue
			}
			if err := s.refreshUser(ctx, u); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("group refresh failed; the user keeps the groups of the last refresh", "user", u.Name, "err", err)
			}
		}
	}
}

// handleRefreshUser refreshes one user's groups now.
func (s *Server) handleRefreshUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "update", "users") {
		s.forbidden(w, r, id, "refresh users")
		return
	}
	user, ok := s.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	if err := s.refreshUser(r.Context(), user); err != nil {
		if errors.Is(err, authn.ErrProviderUnavailable) {
			s.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the identity provider does not answer; try again later", err)
			return
		}
		s.internal(w, r, err)
		return
	}
	var fresh v1.User
	if err := s.cache.Get(r.Context(), client.ObjectKey{Name: user.Name}, &fresh); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiUser(r.Context(), &fresh))
}
