package oidc

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultGroupsClaim   = "groups"
	DefaultUsernameClaim = "preferred_username"
	DefaultHTTPTimeout   = 10 * time.Second
)

// Config configures a Provider. The field comments name the AuthConfig
// setting each one comes from (see ConfigFromSettings).
type Config struct {
	// IssuerURL is the issuer, exactly as the provider's discovery
	// document states it (setting issuerURL). https, or http for a
	// loopback address only.
	IssuerURL string
	// ClientID is Herd's client id at the provider (setting clientID).
	ClientID string
	// ClientSecret is Herd's client secret (from the AuthConfig's Secret,
	// key clientSecret). Never logged.
	ClientSecret string
	// Scopes to request (setting scopes, space or comma separated); empty:
	// openid profile email offline_access and the groups claim's name.
	// offline_access asks for the refresh token that Refresh needs.
	Scopes []string
	// GroupsClaim names the claim with the user's groups (setting
	// groupsClaim); empty: "groups".
	GroupsClaim string
	// UsernameClaim names the claim with the login name (setting
	// usernameClaim); empty: "preferred_username". When the claim is
	// missing the username is the email claim.
	UsernameClaim string
	// CAPEM are the PEM certificates that the issuer's certificate must
	// chain to, instead of the system's roots (setting certificate);
	// empty: the system's roots.
	CAPEM string
	// HTTPTimeout bounds each request to the provider (setting
	// httpTimeout, a Go duration); zero: 10s.
	HTTPTimeout time.Duration
	// Logger; nil: discard.
	Logger *slog.Logger
	// Now is the clock for ID token expiry; nil: time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of c with the zero values filled in.
func (c Config) withDefaults() Config {
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = DefaultUsernameClaim
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "profile", "email", "offline_access", c.GroupsClaim}
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the configuration as New would use it; its errors name
// the setting.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := validateIssuer(c.IssuerURL); err != nil {
		errs = append(errs, err)
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("oidc: clientID is required"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("oidc: clientSecret is required (in the AuthConfig's Secret)"))
	}
	if !slices.Contains(c.Scopes, "openid") {
		errs = append(errs, fmt.Errorf("oidc: scopes must include openid, got %q", strings.Join(c.Scopes, " ")))
	}
	if c.HTTPTimeout < 0 {
		errs = append(errs, fmt.Errorf("oidc: httpTimeout must not be negative, got %v", c.HTTPTimeout))
	}
	if c.CAPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CAPEM)) {
		errs = append(errs, errors.New("oidc: certificate holds no PEM certificate"))
	}
	return errors.Join(errs...)
}

func validateIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("oidc: issuerURL is required")
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("oidc: issuerURL %q is not an absolute URL", issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc: issuerURL %q must not have a query or fragment", issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("oidc: issuerURL %q must be https (http only for a loopback address)", issuer)
	}
	return fmt.Errorf("oidc: issuerURL %q must be https", issuer)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
