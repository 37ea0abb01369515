package herdclient

import (
	"context"
	"net/http"
	"net/url"

	"herd.dev/herd/internal/herdapi"
)

// ListProjects returns the projects the caller may see, of one cluster
// when cluster is set.
func (c *Client) ListProjects(ctx context.Context, cluster string) (*herdapi.ProjectList, error) {
	path := "/v1/projects"
	if cluster != "" {
		path += "?" + url.Values{"cluster": {cluster}}.Encode()
	}
	var out herdapi.ProjectList
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateProject makes a project in a cluster (admin, or one who may create
// projects in the cluster).
func (c *Client) CreateProject(ctx context.Context, req herdapi.ProjectCreateRequest) (*herdapi.Project, error) {
	var out herdapi.Project
	if err := c.do(ctx, http.MethodPost, "/v1/projects", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetProject returns a project by name.
func (c *Client) GetProject(ctx context.Context, name string) (*herdapi.Project, error) {
	path, err := projectPath(name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Project
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProject removes a project. Its namespaces stay in the cluster,
// outside any project, and lose the project's bindings.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	path, err := projectPath(name)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// AddProjectNamespace moves a namespace of the project's cluster into the
// project (making it with req.Create) and returns the project.
func (c *Client) AddProjectNamespace(ctx context.Context, project string, req herdapi.ProjectNamespaceRequest) (*herdapi.Project, error) {
	path, err := projectPath(project)
	if err != nil {
		return nil, err
	}
	var out herdapi.Project
	if err := c.do(ctx, http.MethodPost, path+"/namespaces", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveProjectNamespace takes a namespace out of a project; the namespace
// itself stays.
func (c *Client) RemoveProjectNamespace(ctx context.Context, project, namespace string) error {
	path, err := projectPath(project)
	if err != nil {
		return err
	}
	seg, err := segment("namespace", namespace)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path+"/namespaces/"+seg, nil, nil)
}

func projectPath(name string) (string, error) {
	seg, err := segment("project", name)
	return "/v1/projects/" + seg, err
}
