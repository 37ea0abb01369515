package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// ListBundles lists the bundles the caller may see.
func (c *Client) ListBundles(ctx context.Context) (*herdapi.BundleList, error) {
	var out herdapi.BundleList
	if err := c.do(ctx, http.MethodGet, "/v1/bundles", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetBundle reads one bundle with its per-cluster state.
func (c *Client) GetBundle(ctx context.Context, name string) (*herdapi.Bundle, error) {
	seg, err := segment("bundle", name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Bundle
	if err := c.do(ctx, http.MethodGet, "/v1/bundles/"+seg, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ApplyBundle creates the bundle or replaces its spec.
func (c *Client) ApplyBundle(ctx context.Context, name string, in *herdapi.BundleApply) (*herdapi.Bundle, error) {
	seg, err := segment("bundle", name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Bundle
	if err := c.do(ctx, http.MethodPut, "/v1/bundles/"+seg, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteBundle deletes the bundle; what it applied is removed from its
// clusters.
func (c *Client) DeleteBundle(ctx context.Context, name string) error {
	seg, err := segment("bundle", name)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/bundles/"+seg, nil, nil)
}

// RefreshBundle makes Herd look at the bundle's Git ref now.
func (c *Client) RefreshBundle(ctx context.Context, name string) error {
	seg, err := segment("bundle", name)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/bundles/"+seg+"/refresh", nil, nil)
}
