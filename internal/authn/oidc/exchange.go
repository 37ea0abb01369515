package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// Exchange redeems a code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry, nonce, access token hash) and
// returns the identity it states, with the groups from the ID token or,
// if it has none, from the userinfo endpoint. A code that the provider
// refuses (replayed, expired, PKCE mismatch) or a token that does not
// verify is authn.ErrFlow.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURL string) (*authn.ExternalIdentity, error) {
	if code == "" || verifier == "" {
		return nil, fmt.Errorf("%w: oidc: missing code or PKCE verifier", authn.ErrFlow)
	}
	ctx = p.ctx(ctx)
	tok, err := p.oauth2Config(redirectURL).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify("code exchange", err, authn.ErrFlow, code, verifier, p.cfg.ClientSecret)
	}
	idt, c, err := p.verifyIDToken(ctx, tok, authn.ErrFlow)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonceFor(verifier))) != 1 {
		return nil, fmt.Errorf("%w: oidc: ID token nonce does not match this login", authn.ErrFlow)
	}
	if c, err = p.completeClaims(ctx, tok, c, false); err != nil {
		return nil, err
	}
	if c.username == "" {
		c.username = c.sub
	}
	id := &authn.ExternalIdentity{
		Provider:      authn.ProviderOIDC,
		UserPrincipal: p.userPrincipal(c.sub),
		Username:      c.username,
		DisplayName:   c.name,
		Groups:        p.groupPrincipals(c.groups),
		RefreshState:  tok.RefreshToken,
	}
	p.log.Info("OIDC login", "user", id.UserPrincipal, "username", id.Username,
		"groups", len(id.Groups), "refreshable", tok.RefreshToken != "")
	return id, nil
}

// verifyIDToken verifies the token response's ID token and reads its
// claims; a token that does not verify is badToken.
func (p *Provider) verifyIDToken(ctx context.Context, tok *oauth2.Token, badToken error) (*oidc.IDToken, claims, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, claims{}, fmt.Errorf("%w: oidc: token response without an id_token", badToken)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return nil, claims{}, fmt.Errorf("%w: oidc: ID token expired at %v", badToken, expired.Expiry)
		case isKeyFetchError(err):
			return nil, claims{}, fmt.Errorf("%w: oidc: reading the provider's keys: %s", authn.ErrProviderUnavailable, truncate(err.Error()))
		}
		return nil, claims{}, fmt.Errorf("%w: oidc: ID token does not verify: %s", badToken, truncate(err.Error()))
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, claims{}, fmt.Errorf("%w: oidc: ID token at_hash does not match the access token", badToken)
		}
	}
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		return nil, claims{}, fmt.Errorf("%w: oidc: ID token claims: %s", badToken, truncate(err.Error()))
	}
	c := p.readClaims(m)
	if c.sub == "" || c.sub != idt.Subject {
		return nil, claims{}, fmt.Errorf("%w: oidc: ID token without a subject", badToken)
	}
	return idt, c, nil
}

// completeClaims asks the userinfo endpoint for what the ID token lacks
// (many providers keep profile claims or groups out of the ID token);
// with groupsOnly, only for the groups.
func (p *Provider) completeClaims(ctx context.Context, tok *oauth2.Token, c claims, groupsOnly bool) (claims, error) {
	done := c.complete()
	if groupsOnly {
		done = c.hasGroups
	}
	if done || p.provider.UserInfoEndpoint() == "" || tok.AccessToken == "" {
		return c, nil
	}
	ui, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		if isServerError(err) {
			return c, fmt.Errorf("%w: oidc userinfo: %s", authn.ErrProviderUnavailable, truncate(err.Error()))
		}
		return c, classify("userinfo", err, authn.ErrFlow, tok.AccessToken, tok.RefreshToken)
	}
	var m map[string]any
	if err := ui.Claims(&m); err != nil {
		return c, fmt.Errorf("oidc: userinfo claims: %s", truncate(err.Error()))
	}
	more := p.readClaims(m)
	if more.sub != c.sub {
		return c, fmt.Errorf("%w: oidc: userinfo is of another subject than the ID token", authn.ErrFlow)
	}
	return c.merge(more), nil
}
