package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// ListProviders returns the identity providers users can log in with. It
// needs no token; the server shows more to admins.
func (c *Client) ListProviders(ctx context.Context) (*herdapi.ProviderList, error) {
	var out herdapi.ProviderList
	if err := c.do(ctx, http.MethodGet, "/v1/auth/providers", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetProvider returns an identity provider's settings and which secrets
// are set (admin).
func (c *Client) GetProvider(ctx context.Context, provider string) (*herdapi.Provider, error) {
	path, err := providerPath(provider)
	if err != nil {
		return nil, err
	}
	var out herdapi.Provider
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateProvider configures an identity provider (admin). The server
// answers 422 when the provider cannot be built or reached with the
// settings.
func (c *Client) UpdateProvider(ctx context.Context, provider string, req herdapi.ProviderUpdate) (*herdapi.Provider, error) {
	path, err := providerPath(provider)
	if err != nil {
		return nil, err
	}
	var out herdapi.Provider
	if err := c.do(ctx, http.MethodPut, path, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func providerPath(provider string) (string, error) {
	seg, err := segment("identity provider", provider)
	return "/v1/auth/providers/" + seg, err
}
