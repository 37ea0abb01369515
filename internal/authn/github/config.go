package github

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultBaseURL     = "https://github.com"
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultMaxPages bounds each paginated listing (of 100 items a page).
	DefaultMaxPages = 10
)

// Config configures a Provider. The field comments name the AuthConfig
// setting each one comes from (see ConfigFromSettings).
type Config struct {
	// BaseURL is GitHub's web address (setting baseURL); empty:
	// https://github.com. For GitHub Enterprise Server, https://HOST.
	BaseURL string
	// APIURL is the REST API's address (setting apiURL); empty:
	// https://api.github.com for github.com, BaseURL + /api/v3 otherwise.
	APIURL string
	// ClientID is the OAuth app's client id (setting clientID).
	ClientID string
	// ClientSecret is the OAuth app's secret (from the AuthConfig's
	// Secret, key clientSecret). Never logged.
	ClientSecret string
	// SearchToken is a token (of a service account, scope read:org) that
	// Search uses (from the AuthConfig's Secret, key searchToken); empty:
	// Search returns ErrNoSearchToken.
	SearchToken string
	// CAPEM are the PEM certificates GitHub Enterprise's certificate must
	// chain to, instead of the system's roots (setting certificate).
	CAPEM string
	// HTTPTimeout bounds each request to GitHub (setting httpTimeout, a Go
	// duration); zero: 10s.
	HTTPTimeout time.Duration
	// MaxPages bounds each paginated listing; zero: 10 pages of 100.
	MaxPages int
	// Logger; nil: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.APIURL == "" {
		if c.BaseURL == DefaultBaseURL {
			c.APIURL = "https://api.github.com"
		} else {
			c.APIURL = c.BaseURL + "/api/v3"
		}
	}
	c.APIURL = strings.TrimSuffix(c.APIURL, "/")
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.MaxPages == 0 {
		c.MaxPages = DefaultMaxPages
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration as New would use it; its errors name
// the setting.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, u := range []struct{ setting, value string }{{"baseURL", c.BaseURL}, {"apiURL", c.APIURL}} {
		if err := validateURL(u.setting, u.value); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("github: clientID is required"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("github: clientSecret is required (in the AuthConfig's Secret)"))
	}
	if c.HTTPTimeout < 0 {
		errs = append(errs, fmt.Errorf("github: httpTimeout must not be negative, got %v", c.HTTPTimeout))
	}
	if c.MaxPages < 0 {
		errs = append(errs, fmt.Errorf("github: MaxPages must not be negative, got %d", c.MaxPages))
	}
	if c.CAPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CAPEM)) {
		errs = append(errs, errors.New("github: certificate holds no PEM certificate"))
	}
	return errors.Join(errs...)
}

func validateURL(setting, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("github: %s %q is not an absolute URL", setting, s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("github: %s %q must not have a query, fragment or user", setting, s)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("github: %s %q must be https (http only for a loopback address)", setting, s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
