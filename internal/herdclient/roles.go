package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// ListRoles returns the global roles and role templates. Their effective
// rules are left out; GetRole has them.
func (c *Client) ListRoles(ctx context.Context) (*herdapi.RoleList, error) {
	var out herdapi.RoleList
	if err := c.do(ctx, http.MethodGet, "/v1/roles", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRole returns a role template, else a global role, by name, with its
// effective rules.
func (c *Client) GetRole(ctx context.Context, name string) (*herdapi.Role, error) {
	seg, err := segment("role", name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Role
	if err := c.do(ctx, http.MethodGet, "/v1/roles/"+seg, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
