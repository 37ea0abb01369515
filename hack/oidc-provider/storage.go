package main

import (
	"context"
	"errors"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// groupsScope asks for the groups claim.
const groupsScope = "groups"

// groupStorage is the example storage with a groups claim, configurable
// clients, and refresh tokens that stop working when their user is deleted
// (as a real provider's do).
type groupStorage struct {
	*storage.Storage
	users   *userStore
	clients map[string]clientConfig
}

// GetClientByClientID wraps the example client so it allows the groups
// scope, accepts the configured redirect globs and, if configured, puts
// the userinfo claims into the ID token.
func (s *groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &client{Client: c, cfg: s.clients[id]}, nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *groupStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if hasScope(scopes, groupsScope) {
		s.addGroups(info, req.GetSubject())
	}
	return nil
}

// SetUserinfoFromToken fills the userinfo endpoint's answer; it always
// has the groups.
func (s *groupStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	sub := info.Subject
	if sub == "" {
		sub = subject
	}
	s.addGroups(info, sub)
	return nil
}

// TokenRequestByRefreshToken refuses the refresh tokens of deleted users,
// which the token endpoint answers with invalid_grant.
func (s *groupStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	req, err := s.Storage.TokenRequestByRefreshToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.users.GetUserByID(req.GetSubject()) == nil {
		return nil, errors.New("user deleted")
	}
	return req, nil
}

func (s *groupStorage) addGroups(info *oidc.UserInfo, userID string) {
	if groups, ok := s.users.groups(userID); ok {
		info.AppendClaims(groupsScope, groups)
	}
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}

// client is an example client with Herd's test settings.
type client struct {
	op.Client
	cfg clientConfig
}

func (c *client) IsScopeAllowed(scope string) bool {
	return scope == groupsScope || c.Client.IsScopeAllowed(scope)
}

func (c *client) IDTokenUserinfoClaimsAssertion() bool { return c.cfg.IDTokenClaims }

func (c *client) RedirectURIGlobs() []string { return c.cfg.RedirectURIGlobs }

func (c *client) PostLogoutRedirectURIGlobs() []string { return nil }

var _ op.HasRedirectGlobs = (*client)(nil)
