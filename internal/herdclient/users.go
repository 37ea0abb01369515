package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// ListUsers returns all users (admin).
func (c *Client) ListUsers(ctx context.Context) (*herdapi.UserList, error) {
	var out herdapi.UserList
	if err := c.do(ctx, http.MethodGet, "/v1/users", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateUser makes a local user (admin).
func (c *Client) CreateUser(ctx context.Context, req herdapi.UserCreateRequest) (*herdapi.User, error) {
	var out herdapi.User
	if err := c.do(ctx, http.MethodPost, "/v1/users", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser returns a user by username (admin or self).
func (c *Client) GetUser(ctx context.Context, username string) (*herdapi.User, error) {
	path, err := userPath(username)
	if err != nil {
		return nil, err
	}
	var out herdapi.User
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUser changes the fields of req that are set (admin).
func (c *Client) UpdateUser(ctx context.Context, username string, req herdapi.UserUpdateRequest) (*herdapi.User, error) {
	path, err := userPath(username)
	if err != nil {
		return nil, err
	}
	var out herdapi.User
	if err := c.do(ctx, http.MethodPatch, path, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser removes a user (admin).
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	path, err := userPath(username)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// SetPassword sets a user's password: an admin's for anyone, or the user's
// own with req.CurrentPassword.
func (c *Client) SetPassword(ctx context.Context, username string, req herdapi.PasswordRequest) error {
	path, err := userPath(username)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, path+"/password", req, nil)
}

func userPath(username string) (string, error) {
	seg, err := segment("user", username)
	return "/v1/users/" + seg, err
}

// RefreshUser reads a user's groups from their identity provider now and
// returns the user with them (admin).
func (c *Client) RefreshUser(ctx context.Context, username string) (*herdapi.User, error) {
	path, err := userPath(username)
	if err != nil {
		return nil, err
	}
	var out herdapi.User
	if err := c.do(ctx, http.MethodPost, path+"/refresh", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
