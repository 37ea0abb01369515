package oidc

import (
	"fmt"
	"strings"
	"time"

	"herd.dev/herd/internal/authn"
)

// Keys of AuthConfig.spec.settings for type oidc.
const (
	SettingIssuerURL     = "issuerURL"
	SettingClientID      = "clientID"
	SettingScopes        = "scopes"
	SettingGroupsClaim   = "groupsClaim"
	SettingUsernameClaim = "usernameClaim"
	SettingCertificate   = "certificate"
	SettingHTTPTimeout   = "httpTimeout"
)

// SecretClientSecret is the key of the client secret in the AuthConfig's
// Secret.
const SecretClientSecret = "clientSecret"

var settingKeys = []string{
	SettingIssuerURL, SettingClientID, SettingScopes, SettingGroupsClaim,
	SettingUsernameClaim, SettingCertificate, SettingHTTPTimeout,
}

// ConfigFromSettings turns an AuthConfig's settings and the client secret
// from its Secret into a Config (without Logger and Now). Unknown keys are
// errors, so a misspelt setting is not silently ignored. It does not call
// Validate.
func ConfigFromSettings(settings map[string]string, clientSecret string) (Config, error) {
	if err := authn.CheckSettings("oidc", settings, settingKeys); err != nil {
		return Config{}, err
	}
	c := Config{
		IssuerURL:     strings.TrimSpace(settings[SettingIssuerURL]),
		ClientID:      strings.TrimSpace(settings[SettingClientID]),
		ClientSecret:  clientSecret,
		Scopes:        splitList(settings[SettingScopes]),
		GroupsClaim:   strings.TrimSpace(settings[SettingGroupsClaim]),
		UsernameClaim: strings.TrimSpace(settings[SettingUsernameClaim]),
		CAPEM:         settings[SettingCertificate],
	}
	if s := strings.TrimSpace(settings[SettingHTTPTimeout]); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Config{}, fmt.Errorf("oidc: httpTimeout %q is not a duration such as 10s", s)
		}
		c.HTTPTimeout = d
	}
	return c, nil
}

// splitList splits on commas and white space, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
}
