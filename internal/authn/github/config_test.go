package github

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, base, api      string
		wantBase, wantAPIURL string
	}{
		{"github.com", "", "", "https://github.com", "https://api.github.com"},
		{"github.com, slash", "https://github.com/", "", "https://github.com", "https://api.github.com"},
		{"enterprise", "https://ghe.corp.example", "", "https://ghe.corp.example", "https://ghe.corp.example/api/v3"},
		{"enterprise, slash", "https://ghe.corp.example/", "", "https://ghe.corp.example", "https://ghe.corp.example/api/v3"},
		{"explicit API", "https://ghe.corp.example", "https://api.ghe.corp.example/", "https://ghe.corp.example", "https://api.ghe.corp.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{BaseURL: tc.base, APIURL: tc.api}.withDefaults()
			if c.BaseURL != tc.wantBase || c.APIURL != tc.wantAPIURL {
				t.Errorf("got %q %q, want %q %q", c.BaseURL, c.APIURL, tc.wantBase, tc.wantAPIURL)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := Config{ClientID: "id", ClientSecret: "s"}
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"enterprise", func(c *Config) { c.BaseURL = "https://ghe.corp.example" }, ""},
		{"loopback http", func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" }, ""},
		{"http elsewhere", func(c *Config) { c.BaseURL = "http://ghe.corp.example" }, "baseURL"},
		{"bad API URL", func(c *Config) { c.APIURL = "api.github.com" }, "apiURL"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "clientID is required"},
		{"no client secret", func(c *Config) { c.ClientSecret = "" }, "clientSecret is required"},
		{"negative timeout", func(c *Config) { c.HTTPTimeout = -time.Second }, "httpTimeout"},
		{"bad certificate", func(c *Config) { c.CAPEM = "x" }, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigFromSettings(t *testing.T) {
	c, err := ConfigFromSettings(map[string]string{
		"baseURL": "https://ghe.corp.example", "clientID": "Iv1.x", "httpTimeout": "5s", "certificate": "PEM",
	}, "secret", "token")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{BaseURL: "https://ghe.corp.example", ClientID: "Iv1.x", ClientSecret: "secret", SearchToken: "token", CAPEM: "PEM", HTTPTimeout: 5 * time.Second}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if _, err := ConfigFromSettings(map[string]string{"hostname": "x"}, "", ""); err == nil || !strings.Contains(err.Error(), `unknown setting "hostname"`) {
		t.Errorf("unknown key: got %v", err)
	}
	if _, err := ConfigFromSettings(map[string]string{"httpTimeout": "five"}, "", ""); err == nil {
		t.Error("bad httpTimeout: got no error")
	}
}
