package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// ListTokens returns the caller's tokens, or everyone's with all (admin).
func (c *Client) ListTokens(ctx context.Context, all bool) (*herdapi.TokenList, error) {
	path := "/v1/tokens"
	if all {
		path += "?all=true"
	}
	var out herdapi.TokenList
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateToken makes another token for the caller. The secret is in the
// answer only.
func (c *Client) CreateToken(ctx context.Context, req herdapi.TokenCreateRequest) (*herdapi.TokenResponse, error) {
	var out herdapi.TokenResponse
	if err := c.do(ctx, http.MethodPost, "/v1/tokens", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeToken deletes a token by name (own token, or admin).
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	seg, err := segment("token", name)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+seg, nil, nil)
}
