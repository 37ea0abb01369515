package herdclient

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"herd.dev/herd/internal/herdapi"
)

func TestRBACEndpoints(t *testing.T) {
	ctx := context.Background()
	rule := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	role := herdapi.Role{Name: "view", Context: herdapi.ContextProject, Rules: []rbacv1.PolicyRule{rule}, EffectiveRules: []rbacv1.PolicyRule{rule}, Ready: "True"}
	project := herdapi.Project{Name: "web", ClusterName: "c1", Namespaces: []string{"web-a"}, CreatedAt: created}
	member := herdapi.Member{Name: "m-1", ClusterName: "c1", RoleTemplate: "cluster-owner", UserName: "u-abc", Username: "alice", CreatedAt: created}
	testEndpoints(t, []endpointTest{
		{"list roles", func(c *Client) (any, error) { return c.ListRoles(ctx) },
			200, herdapi.RoleList{Items: []herdapi.Role{role}}, "GET", "/v1/roles", "", "Bearer tok"},
		{"get role", func(c *Client) (any, error) { return c.GetRole(ctx, "view") },
			200, role, "GET", "/v1/roles/view", "", "Bearer tok"},
		{"list projects", func(c *Client) (any, error) { return c.ListProjects(ctx, "") },
			200, herdapi.ProjectList{Items: []herdapi.Project{project}}, "GET", "/v1/projects", "", "Bearer tok"},
		{"list projects of a cluster", func(c *Client) (any, error) { return c.ListProjects(ctx, "c 1&x") },
			200, herdapi.ProjectList{Items: []herdapi.Project{project}}, "GET", "/v1/projects?cluster=c+1%26x", "", "Bearer tok"},
		{"create project", func(c *Client) (any, error) {
			return c.CreateProject(ctx, herdapi.ProjectCreateRequest{Name: "web", ClusterName: "c1", Description: "shop"})
		}, 201, project, "POST", "/v1/projects", `{"name":"web","clusterName":"c1","description":"shop"}`, "Bearer tok"},
		{"get project", func(c *Client) (any, error) { return c.GetProject(ctx, "web") },
			200, project, "GET", "/v1/projects/web", "", "Bearer tok"},
		{"delete project", func(c *Client) (any, error) { return nil, c.DeleteProject(ctx, "web") },
			204, nil, "DELETE", "/v1/projects/web", "", "Bearer tok"},
		{"add namespace", func(c *Client) (any, error) {
			return c.AddProjectNamespace(ctx, "web", herdapi.ProjectNamespaceRequest{Namespace: "web-a", Create: true})
		}, 200, project, "POST", "/v1/projects/web/namespaces", `{"namespace":"web-a","create":true}`, "Bearer tok"},
		{"remove namespace", func(c *Client) (any, error) { return nil, c.RemoveProjectNamespace(ctx, "web", "web-a") },
			204, nil, "DELETE", "/v1/projects/web/namespaces/web-a", "", "Bearer tok"},
		{"list cluster members", func(c *Client) (any, error) { return c.ListClusterMembers(ctx, "c1") },
			200, herdapi.MemberList{Items: []herdapi.Member{member}}, "GET", "/v1/members?cluster=c1", "", "Bearer tok"},
		{"list project members", func(c *Client) (any, error) { return c.ListProjectMembers(ctx, "web") },
			200, herdapi.MemberList{Items: []herdapi.Member{member}}, "GET", "/v1/members?project=web", "", "Bearer tok"},
		{"add member", func(c *Client) (any, error) {
			return c.AddMember(ctx, herdapi.MemberRequest{ClusterName: "c1", RoleTemplate: "cluster-owner", Username: "alice"})
		}, 201, member, "POST", "/v1/members", `{"clusterName":"c1","roleTemplate":"cluster-owner","username":"alice"}`, "Bearer tok"},
		{"remove member", func(c *Client) (any, error) { return nil, c.RemoveMember(ctx, "m-1") },
			204, nil, "DELETE", "/v1/members/m-1", "", "Bearer tok"},
	})
}

func TestRBACInvalidNames(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"role", func(c *Client) error { _, err := c.GetRole(ctx, ".."); return err }, `invalid role name ".."`},
		{"project", func(c *Client) error { return c.DeleteProject(ctx, "") }, `invalid project name ""`},
		{"namespace", func(c *Client) error { return c.RemoveProjectNamespace(ctx, "web", ".") }, `invalid namespace name "."`},
		{"members of no cluster", func(c *Client) error { _, err := c.ListClusterMembers(ctx, ""); return err }, `invalid cluster name ""`},
		{"members of no project", func(c *Client) error { _, err := c.ListProjectMembers(ctx, ""); return err }, `invalid project name ""`},
		{"member", func(c *Client) error { return c.RemoveMember(ctx, "..") }, `invalid member name ".."`},
	}
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %s", err, tt.want)
			}
		})
	}
	if len(ts.requests) != 0 {
		t.Errorf("got %d requests, want none", len(ts.requests))
	}
}
