package herdclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// A browser login, for the providers whose users log in at the provider's
// site (GitHub, OIDC):
//
//  1. the CLI makes a verifier (NewVerifier) and listens on a loopback port;
//  2. StartRedirectLogin sends the loopback URL and the verifier's
//     challenge, and returns the URL to open in the browser;
//  3. after the provider, the server sends the browser to the loopback URL
//     with a single-use ticket;
//  4. RedeemTicket exchanges the ticket and the verifier for a token. A
//     ticket without the verifier is worth nothing, so a ticket that leaks
//     from the browser (history, another program on the port) is harmless.

// verifierBytes is how much randomness a verifier holds.
const verifierBytes = 32

// NewVerifier returns a random verifier for a browser login (32 bytes,
// base64url without padding) and its challenge.
func NewVerifier() (verifier, challenge string) {
	b := make([]byte, verifierBytes)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	verifier = base64.RawURLEncoding.EncodeToString(b)
	return verifier, Challenge(verifier)
}

// Challenge is base64url(sha256(verifier)) without padding, what
// RedirectLoginRequest.CLIChallenge carries.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// StartRedirectLogin starts a browser login with provider (github, oidc, saml):
// the answer says where to send the browser. It sends no bearer token.
func (c *Client) StartRedirectLogin(ctx context.Context, provider string, req herdapi.RedirectLoginRequest) (*herdapi.RedirectLoginResponse, error) {
	seg, err := segment("identity provider", provider)
	if err != nil {
		return nil, err
	}
	var out herdapi.RedirectLoginResponse
	if err := c.doAnonymous(ctx, http.MethodPost, "/v1/auth/login/"+seg, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RedeemTicket exchanges the ticket that the browser brought to the
// loopback, with the verifier whose challenge started the login, for a
// token. It sends no bearer token.
func (c *Client) RedeemTicket(ctx context.Context, req herdapi.TicketRedeemRequest) (*herdapi.TokenResponse, error) {
	var out herdapi.TokenResponse
	if err := c.doAnonymous(ctx, http.MethodPost, "/v1/auth/tickets", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
