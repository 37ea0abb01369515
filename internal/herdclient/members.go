package herdclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"herd.dev/herd/internal/herdapi"
)

// ListClusterMembers returns the role bindings of a cluster.
func (c *Client) ListClusterMembers(ctx context.Context, cluster string) (*herdapi.MemberList, error) {
	return c.listMembers(ctx, "cluster", cluster)
}

// ListProjectMembers returns the role bindings of a project.
func (c *Client) ListProjectMembers(ctx context.Context, project string) (*herdapi.MemberList, error) {
	return c.listMembers(ctx, "project", project)
}

func (c *Client) listMembers(ctx context.Context, scope, name string) (*herdapi.MemberList, error) {
	if name == "" {
		return nil, fmt.Errorf("herdclient: invalid %s name %q", scope, name)
	}
	var out herdapi.MemberList
	path := "/v1/members?" + url.Values{scope: {name}}.Encode()
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddMember binds a role template to a user or group in a cluster or
// project. The server refuses (403) to grant more than the caller holds.
func (c *Client) AddMember(ctx context.Context, req herdapi.MemberRequest) (*herdapi.Member, error) {
	var out herdapi.Member
	if err := c.do(ctx, http.MethodPost, "/v1/members", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveMember deletes a binding by name.
func (c *Client) RemoveMember(ctx context.Context, name string) error {
	seg, err := segment("member", name)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/members/"+seg, nil, nil)
}
