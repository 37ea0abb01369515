package main

import (
	"context"
	"errors"
	"net/http"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// passwordLogin logs in with a username and password that the provider of
// o checks (local, openldap, activedirectory).
func (a *app) passwordLogin(ctx context.Context, cfg *fileConfig, o loginOptions) (*herdapi.TokenResponse, error) {
	password, err := a.readSecret(o.passwordStdin, "password", false)
	if err != nil {
		return nil, err
	}
	client, err := newClient(cfg, "")
	if err != nil {
		return nil, err
	}
	req := herdapi.LoginRequest{
		Username: o.username, Password: password, Kind: herdapi.KindSession, Description: "herdctl login",
	}
	if o.provider != providerLocal {
		// Only then: servers from before identity providers refuse the field.
		req.Provider = o.provider
	}
	resp, err := client.Login(ctx, req)
	var apiErr *herdclient.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusUnauthorized:
		return nil, hint(err, "login failed: wrong username or password (or the user is disabled)")
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusTooManyRequests:
		return nil, hint(err, "too many failed logins: try again in %s", retryIn(apiErr))
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusServiceUnavailable:
		return nil, hint(err, "failed to log in with %s: %s", o.provider, apiMessage(apiErr))
	case err != nil:
		return nil, explain(err, cfg, action{what: "log in to " + cfg.Server})
	}
	return resp, nil
}
