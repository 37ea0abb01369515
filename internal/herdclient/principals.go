package herdclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"herd.dev/herd/internal/herdapi"
)

// SearchPrincipals finds users and groups of the enabled identity
// providers whose names match query, to bind roles to them.
func (c *Client) SearchPrincipals(ctx context.Context, query string) (*herdapi.PrincipalList, error) {
	if query == "" {
		return nil, errors.New("herdclient: empty principal query")
	}
	var out herdapi.PrincipalList
	if err := c.do(ctx, http.MethodGet, "/v1/principals?"+url.Values{"q": {query}}.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
