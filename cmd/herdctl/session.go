package main

import (
	"fmt"
	"net/url"
	"strings"

	"herd.dev/herd/internal/herdclient"
)

// session is a logged-in config and a client built from it.
type session struct {
	cfg    *fileConfig
	path   string
	client *herdclient.Client
}

// session loads the config and fails with what to do when not logged in.
func (a *app) session() (*session, error) {
	cfg, path, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Server == "" || cfg.Token == "" {
		return nil, fmt.Errorf("not logged in: run `%s`", loginCommand(cfg))
	}
	client, err := newClient(cfg, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("%s is broken (%w): run `%s` again", path, err, loginCommand(cfg))
	}
	return &session{cfg: cfg, path: path, client: client}, nil
}

func newClient(cfg *fileConfig, token string) (*herdclient.Client, error) {
	return herdclient.New(herdclient.Config{
		Server:   cfg.Server,
		Token:    token,
		CACert:   []byte(cfg.CACert),
		Insecure: cfg.InsecureSkipTLSVerify,
	})
}

// loginCommand is the login command line to suggest, with what the config
// knows filled in.
func loginCommand(cfg *fileConfig) string {
	server, user, provider := "SERVER", "USERNAME", ""
	if cfg != nil && cfg.Server != "" {
		server = cfg.Server
	}
	if cfg != nil && cfg.Username != "" {
		user = cfg.Username
	}
	if cfg != nil {
		provider = cfg.Provider
	}
	if flow, _ := loginFlow(provider); flow == flowRedirect {
		return fmt.Sprintf("herdctl login %s --provider %s", server, provider)
	}
	if provider != "" && provider != providerLocal {
		return fmt.Sprintf("herdctl login %s --provider %s --username %s --password-stdin", server, provider, user)
	}
	return fmt.Sprintf("herdctl login %s --username %s --password-stdin", server, user)
}

// normalizeServer accepts https://host[:port][/path] or host[:port] and
// returns the https URL without a trailing slash.
func normalizeServer(arg string) (string, error) {
	if !strings.Contains(arg, "://") {
		arg = "https://" + arg
	}
	u, err := url.Parse(arg)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server %q is not an address like https://herd.example.com", arg)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server %q: herdctl only talks https, use https://%s", arg, u.Host)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("server %q must not have a user, a query or a fragment", arg)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
