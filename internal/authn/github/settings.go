package github

import (
	"fmt"
	"strings"
	"time"

	"herd.dev/herd/internal/authn"
)

// Keys of AuthConfig.spec.settings for type github.
const (
	SettingBaseURL     = "baseURL"
	SettingAPIURL      = "apiURL"
	SettingClientID    = "clientID"
	SettingCertificate = "certificate"
	SettingHTTPTimeout = "httpTimeout"
)

// Keys in the AuthConfig's Secret.
const (
	SecretClientSecret = "clientSecret"
	SecretSearchToken  = "searchToken"
)

var settingKeys = []string{SettingBaseURL, SettingAPIURL, SettingClientID, SettingCertificate, SettingHTTPTimeout}

// ConfigFromSettings turns an AuthConfig's settings and the secrets from
// its Secret (searchToken may be empty) into a Config (without Logger).
// Unknown keys are errors, so a misspelt setting is not silently ignored.
// It does not call Validate.
func ConfigFromSettings(settings map[string]string, clientSecret, searchToken string) (Config, error) {
	if err := authn.CheckSettings("github", settings, settingKeys); err != nil {
		return Config{}, err
	}
	c := Config{
		BaseURL:      strings.TrimSpace(settings[SettingBaseURL]),
		APIURL:       strings.TrimSpace(settings[SettingAPIURL]),
		ClientID:     strings.TrimSpace(settings[SettingClientID]),
		ClientSecret: clientSecret,
		SearchToken:  searchToken,
		CAPEM:        settings[SettingCertificate],
	}
	if s := strings.TrimSpace(settings[SettingHTTPTimeout]); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Config{}, fmt.Errorf("github: httpTimeout %q is not a duration such as 10s", s)
		}
		c.HTTPTimeout = d
	}
	return c, nil
}
