package oidc

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// Refresh redeems the refresh token (state) for new tokens and reads the
// user's groups again, from the new ID token or the userinfo endpoint. A
// refresh token the provider refuses (invalid_grant: revoked, expired, the
// user deleted or disabled) is authn.ErrUserGone. The new state is the
// rotated refresh token, or the old one when the provider does not rotate.
func (p *Provider) Refresh(ctx context.Context, userPrincipal, state string) ([]string, string, error) {
	if state == "" {
		return nil, "", ErrNoRefreshState
	}
	sub, ok := strings.CutPrefix(userPrincipal, p.userPrincipal(""))
	if !ok || sub == "" {
		return nil, "", fmt.Errorf("oidc: %q is not a user of issuer %s", userPrincipal, p.cfg.IssuerURL)
	}
	ctx = p.ctx(ctx)
	// The redirect URL plays no part in a refresh.
	tok, err := p.oauth2Config("").TokenSource(ctx, &oauth2.Token{RefreshToken: state}).Token()
	if err != nil {
		return nil, "", classify("refresh", err, authn.ErrUserGone, state, p.cfg.ClientSecret)
	}
	newState := tok.RefreshToken
	if newState == "" {
		newState = state
	}
	c := claims{sub: sub}
	if _, hasIDToken := tok.Extra("id_token").(string); hasIDToken {
		// An ID token from a refresh has no nonce (OIDC Core 12.2).
		if _, c, err = p.verifyIDToken(ctx, tok, authn.ErrFlow); err != nil {
			return nil, "", err
		}
		if c.sub != sub {
			return nil, "", fmt.Errorf("%w: oidc: refreshed ID token is of another subject", authn.ErrFlow)
		}
	}
	if c, err = p.completeClaims(ctx, tok, c, true); err != nil {
		return nil, "", err
	}
	if !c.hasGroups {
		p.log.Warn("OIDC refresh found no groups claim", "user", userPrincipal, "claim", p.cfg.GroupsClaim)
	}
	return p.groupPrincipals(c.groups), newState, nil
}
