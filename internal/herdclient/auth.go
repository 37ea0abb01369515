package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// Login exchanges a username and password for a token, with the password
// provider req.Provider names (local when empty; openldap,
// activedirectory). It sends no bearer token even if the client has one.
func (c *Client) Login(ctx context.Context, req herdapi.LoginRequest) (*herdapi.TokenResponse, error) {
	var out herdapi.TokenResponse
	if err := c.doAnonymous(ctx, http.MethodPost, "/v1/login", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Logout revokes the client's token.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/logout", nil, nil)
}

// Me returns the calling user.
func (c *Client) Me(ctx context.Context) (*herdapi.User, error) {
	var out herdapi.User
	if err := c.do(ctx, http.MethodGet, "/v1/me", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
