package ldap

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Setting keys of an LDAP or Active Directory AuthConfig. Each is
// documented on the Config field it sets; all are optional except servers,
// serviceAccountDN and userSearchBase.
const (
	SettingServers              = "servers"
	SettingTLS                  = "tls"
	SettingCertificate          = "certificate"
	SettingServiceAccountDN     = "serviceAccountDN"
	SettingUserSearchBase       = "userSearchBase"
	SettingUserLoginAttribute   = "userLoginAttribute"
	SettingUserObjectClass      = "userObjectClass"
	SettingUserNameAttribute    = "userNameAttribute"
	SettingGroupSearchBase      = "groupSearchBase"
	SettingGroupObjectClass     = "groupObjectClass"
	SettingGroupMemberAttribute = "groupMemberAttribute"
	SettingGroupNameAttribute   = "groupNameAttribute"
	SettingGroupMembership      = "groupMembership"
	SettingNestedGroups         = "nestedGroups"
	SettingConnectTimeout       = "connectTimeout"
	SettingRequestTimeout       = "requestTimeout"
)

// ConfigFromSettings is the Config of an AuthConfig: flavor is its type
// (openldap or activedirectory), settings its settings map, bindPassword
// the service account's password from its secret. Unknown keys are
// refused, so that a misspelt setting is not silently ignored. The Config
// is validated; errors name the setting.
func ConfigFromSettings(flavor string, settings map[string]string, bindPassword string) (Config, error) {
	c := Config{Flavor: flavor, ServiceAccountPassword: bindPassword}
	var errs []error
	strs := map[string]*string{
		SettingTLS: &c.TLS, SettingServiceAccountDN: &c.ServiceAccountDN,
		SettingUserSearchBase: &c.UserSearchBase, SettingUserLoginAttribute: &c.UserLoginAttribute,
		SettingUserObjectClass: &c.UserObjectClass, SettingUserNameAttribute: &c.UserNameAttribute,
		SettingGroupSearchBase: &c.GroupSearchBase, SettingGroupObjectClass: &c.GroupObjectClass,
		SettingGroupMemberAttribute: &c.GroupMemberAttribute, SettingGroupNameAttribute: &c.GroupNameAttribute,
		SettingGroupMembership: &c.GroupMembership,
	}
	durations := map[string]*time.Duration{SettingConnectTimeout: &c.ConnectTimeout, SettingRequestTimeout: &c.RequestTimeout}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(settings[k])
		var err error
		switch {
		case strs[k] != nil:
			*strs[k] = v
		case durations[k] != nil:
			*durations[k], err = time.ParseDuration(v)
		case k == SettingServers:
			for s := range strings.SplitSeq(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					c.Servers = append(c.Servers, s)
				}
			}
		case k == SettingCertificate:
			c.CAPEM = []byte(v)
		case k == SettingNestedGroups:
			c.NestedGroups, err = strconv.ParseBool(v)
		default:
			err = errors.New("unknown setting")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ldap: setting %s: %v", k, err))
		}
	}
	c.TLS = strings.ToLower(c.TLS)
	c.GroupMembership = strings.ToLower(c.GroupMembership)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
