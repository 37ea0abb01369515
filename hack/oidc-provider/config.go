package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/zitadel/oidc/v3/example/server/storage"
)

// config is the JSON file the harness writes.
type config struct {
	Clients []clientConfig `json:"clients"`
	Users   []userConfig   `json:"users"`
}

type clientConfig struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirectURIs"`
	// RedirectURIGlobs are doublestar globs of further redirect URIs,
	// such as http://127.0.0.1:*/** for test servers on any port.
	RedirectURIGlobs []string `json:"redirectURIGlobs"`
	// IDTokenClaims puts the profile, email and groups claims in the ID
	// token too; without it the ID token has only the standard claims and
	// groups, and the rest is at the userinfo endpoint (the spec's rule
	// when an access token is issued).
	IDTokenClaims bool `json:"idTokenClaims"`
}

type userConfig struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Email    string   `json:"email"`
	First    string   `json:"firstName"`
	Last     string   `json:"lastName"`
	Groups   []string `json:"groups"`
}

func readConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", path, err)
	}
	if len(c.Clients) == 0 || len(c.Users) == 0 {
		return nil, fmt.Errorf("%s: needs at least one client and one user", path)
	}
	return &c, nil
}

// storageClients are the confidential web clients (client_secret_basic or
// _post, code and refresh token grants, PKCE when the request has it).
func (c *config) storageClients() map[string]*storage.Client {
	m := make(map[string]*storage.Client, len(c.Clients))
	for _, cc := range c.Clients {
		m[cc.ID] = storage.WebClient(cc.ID, cc.Secret, cc.RedirectURIs...)
	}
	return m
}

func (c *config) clientOptions() map[string]clientConfig {
	m := make(map[string]clientConfig, len(c.Clients))
	for _, cc := range c.Clients {
		m[cc.ID] = cc
	}
	return m
}
