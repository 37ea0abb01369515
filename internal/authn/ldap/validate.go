package ldap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// attributeName is an LDAP attribute or class name (a descriptor or an
// OID, RFC 4512 1.4), so that a name from the configuration cannot change
// the shape of a filter.
var attributeName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

// Validate checks c as New uses it, defaults applied. Its errors name the
// setting (see ConfigFromSettings).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("ldap: setting %s: %s", setting, fmt.Sprintf(format, args...)))
	}
	if c.Flavor != authn.ProviderOpenLDAP && c.Flavor != authn.ProviderActiveDirectory {
		bad("type", "%q is neither %q nor %q", c.Flavor, authn.ProviderOpenLDAP, authn.ProviderActiveDirectory)
	}
	if len(c.Servers) == 0 {
		bad("servers", "at least one host:port is required")
	}
	loopback := true
	for _, s := range c.Servers {
		host, port, err := net.SplitHostPort(s)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad("servers", "%q is not host:port", s)
			continue
		}
		loopback = loopback && isLoopback(host)
	}
	switch c.TLS {
	case TLSLDAPS, TLSStartTLS:
	case TLSNone:
		if !loopback {
			bad("tls", "%q sends passwords in the clear and is allowed only when every server is a loopback address (127.0.0.1, ::1, localhost); use %q or %q", c.TLS, TLSLDAPS, TLSStartTLS)
		}
	default:
		bad("tls", "%q is not one of %q, %q, %q", c.TLS, TLSLDAPS, TLSStartTLS, TLSNone)
	}
	if len(c.CAPEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CAPEM) {
		bad("certificate", "no PEM certificate in it")
	}
	checkDN := func(setting, dn string) {
		if dn == "" {
			bad(setting, "required")
		} else if _, err := goldap.ParseDN(dn); err != nil {
			bad(setting, "%q is not a DN: %v", dn, err)
		}
	}
	checkDN("serviceAccountDN", c.ServiceAccountDN)
	if c.ServiceAccountPassword == "" {
		errs = append(errs, errors.New("ldap: the service account's password (the AuthConfig's secret) is required: an empty password would be an unauthenticated bind"))
	}
	checkDN("userSearchBase", c.UserSearchBase)
	checkDN("groupSearchBase", c.GroupSearchBase)
	for _, a := range [][2]string{
		{"userLoginAttribute", c.UserLoginAttribute}, {"userObjectClass", c.UserObjectClass},
		{"userNameAttribute", c.UserNameAttribute}, {"groupObjectClass", c.GroupObjectClass},
		{"groupMemberAttribute", c.GroupMemberAttribute}, {"groupNameAttribute", c.GroupNameAttribute},
	} {
		if !attributeName.MatchString(a[1]) {
			bad(a[0], "%q is not an attribute or class name", a[1])
		}
	}
	if c.GroupMembership != MembershipMemberOf && c.GroupMembership != MembershipGroupSearch {
		bad("groupMembership", "%q is neither %q nor %q", c.GroupMembership, MembershipMemberOf, MembershipGroupSearch)
	}
	if c.ConnectTimeout < 0 {
		bad("connectTimeout", "%v is negative", c.ConnectTimeout)
	}
	if c.RequestTimeout < 0 {
		bad("requestTimeout", "%v is negative", c.RequestTimeout)
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
