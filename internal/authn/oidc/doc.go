// Package oidc logs users in through a generic OpenID Connect provider
// (Keycloak, Dex, Okta, Azure AD, ZITADEL, ...): the authorization code flow
// with PKCE (S256) and a nonce, an ID token verified for issuer, audience,
// expiry, signature and nonce, and groups read from a configurable claim of
// the ID token or, when the ID token lacks them, of the userinfo endpoint.
// The refresh token is the identity's RefreshState; Refresh redeems it to
// read the groups again.
//
// Principals are oidc_user://<issuer>/<sub> and oidc_group://<issuer>/<group>.
// No code, token, verifier or client secret ever appears in an error or a
// log line.
package oidc
