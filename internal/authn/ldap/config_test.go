package ldap_test

import (
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn/ldap"
)

func TestConfigFromSettings(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{
			"servers":          "ldap1.corp.example:636, ldap2.corp.example:636",
			"serviceAccountDN": "cn=svc,dc=corp,dc=example",
			"userSearchBase":   "ou=Users,dc=corp,dc=example",
		}
	}
	// with is base with settings changed: key, value, ... ("<delete>"
	// deletes).
	with := func(kv ...string) map[string]string {
		m := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name     string
		flavor   string
		settings map[string]string
		password string
		wantErr  string // "" for none
	}{
		{name: "minimal", flavor: "openldap", settings: base()},
		{name: "everything", flavor: "activedirectory", settings: map[string]string{
			"servers": "dc1.corp.example:389", "tls": "StartTLS", "certificate": string(slapd.CAPEM),
			"serviceAccountDN": "cn=svc,dc=corp,dc=example", "userSearchBase": "ou=Users,dc=corp,dc=example",
			"userLoginAttribute": "userPrincipalName", "userObjectClass": "person", "userNameAttribute": "displayName",
			"groupSearchBase": "ou=Groups,dc=corp,dc=example", "groupObjectClass": "group",
			"groupMemberAttribute": "member", "groupNameAttribute": "cn", "groupMembership": "memberOf",
			"nestedGroups": "true", "connectTimeout": "2s", "requestTimeout": "1m",
		}},
		{name: "plain on loopback", flavor: "openldap", settings: with("servers", "127.0.0.1:389,localhost:389,[::1]:389", "tls", "none")},
		{name: "bad flavor", flavor: "github", settings: base(), wantErr: "setting type"},
		{name: "no servers", flavor: "openldap", settings: with("servers", "<delete>"), wantErr: "setting servers: at least one"},
		{name: "server without port", flavor: "openldap", settings: with("servers", "ldap.corp.example"), wantErr: "setting servers: \"ldap.corp.example\" is not host:port"},
		{name: "plain off loopback", flavor: "openldap", settings: with("tls", "none"), wantErr: "only when every server is a loopback address"},
		{name: "plain, one server off loopback", flavor: "openldap", settings: with("servers", "127.0.0.1:389,ldap.corp.example:389", "tls", "none"), wantErr: "loopback"},
		{name: "unknown tls", flavor: "openldap", settings: with("tls", "ssl"), wantErr: "setting tls"},
		{name: "bad certificate", flavor: "openldap", settings: with("certificate", "not pem"), wantErr: "setting certificate"},
		{name: "no service account", flavor: "openldap", settings: with("serviceAccountDN", "<delete>"), wantErr: "setting serviceAccountDN: required"},
		{name: "bad DN", flavor: "openldap", settings: with("userSearchBase", "not a dn"), wantErr: "setting userSearchBase"},
		{name: "empty bind password", flavor: "openldap", settings: base(), password: "<none>", wantErr: "unauthenticated bind"},
		{name: "filter in attribute", flavor: "openldap", settings: with("userLoginAttribute", "uid)(objectClass=*"), wantErr: "setting userLoginAttribute"},
		{name: "filter in class", flavor: "openldap", settings: with("groupObjectClass", "*"), wantErr: "setting groupObjectClass"},
		{name: "bad membership", flavor: "openldap", settings: with("groupMembership", "magic"), wantErr: "setting groupMembership"},
		{name: "bad bool", flavor: "openldap", settings: with("nestedGroups", "sure"), wantErr: "setting nestedGroups"},
		{name: "bad duration", flavor: "openldap", settings: with("connectTimeout", "5"), wantErr: "setting connectTimeout"},
		{name: "negative duration", flavor: "openldap", settings: with("requestTimeout", "-1s"), wantErr: "setting requestTimeout"},
		{name: "unknown setting", flavor: "openldap", settings: with("userSearchbase", "x"), wantErr: "setting userSearchbase: unknown setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw := "secret"
			if tt.password == "<none>" {
				pw = ""
			}
			cfg, err := ldap.ConfigFromSettings(tt.flavor, tt.settings, pw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ConfigFromSettings: %v", err)
				}
				if _, err := ldap.New(cfg, nil); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ConfigFromSettings: %v; want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigFromSettingsValues(t *testing.T) {
	got, err := ldap.ConfigFromSettings("activedirectory", map[string]string{
		"servers": " a.example:636 ,b.example:636,", "tls": "STARTTLS", "serviceAccountDN": "cn=s,dc=x",
		"userSearchBase": "dc=x", "groupMembership": "GroupSearch", "nestedGroups": "1", "requestTimeout": "3s",
	}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Servers", strings.Join(got.Servers, "|"), "a.example:636|b.example:636"},
		{"TLS", got.TLS, ldap.TLSStartTLS},
		{"GroupMembership", got.GroupMembership, ldap.MembershipGroupSearch},
		{"NestedGroups", got.NestedGroups, true},
		{"RequestTimeout", got.RequestTimeout, 3 * time.Second},
		{"ConnectTimeout (zero: the default)", got.ConnectTimeout, time.Duration(0)},
		{"ServiceAccountPassword", got.ServiceAccountPassword, "pw"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
