package ldap

import (
	"time"

	"herd.dev/herd/internal/authn"
)

// TLS modes.
const (
	// TLSLDAPS speaks TLS from the first byte (ldaps://, port 636).
	TLSLDAPS = "ldaps"
	// TLSStartTLS upgrades a plain connection (port 389) before anything
	// else is sent.
	TLSStartTLS = "starttls"
	// TLSNone sends passwords in the clear: loopback servers only.
	TLSNone = "none"
)

// Group membership modes.
const (
	// MembershipMemberOf reads the memberOf attribute of the user (and of
	// its groups, for nesting). Active Directory has it; OpenLDAP has it
	// with the memberof overlay.
	MembershipMemberOf = "memberof"
	// MembershipGroupSearch searches the groups whose member attribute
	// holds the user's DN (and the groups' DNs, for nesting).
	MembershipGroupSearch = "groupsearch"
)

// Defaults.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	// MaxNestingDepth is how many levels of groups in groups are followed
	// above the user's own groups.
	MaxNestingDepth = 10
)

// Config configures a Provider. Each field is read from the AuthConfig
// setting named in brackets (see ConfigFromSettings).
type Config struct {
	// Flavor is authn.ProviderOpenLDAP or authn.ProviderActiveDirectory
	// (the AuthConfig's type); required. It picks the attribute defaults
	// below and the principal id scheme.
	Flavor string
	// Servers are host:port addresses, tried in order until one answers
	// [servers, comma-separated]; at least one.
	Servers []string
	// TLS is TLSLDAPS, TLSStartTLS or TLSNone [tls]; "" is TLSLDAPS.
	// TLSNone is refused unless every server is a loopback address.
	TLS string
	// CAPEM holds the PEM certificates that the servers' certificates
	// must chain to [certificate]; nil uses the system's roots.
	CAPEM []byte
	// ServiceAccountDN and ServiceAccountPassword are the account that
	// searches the directory [serviceAccountDN, and the AuthConfig's
	// secret]; both required (an empty password would be an
	// unauthenticated bind).
	ServiceAccountDN, ServiceAccountPassword string
	// UserSearchBase is where users are searched, subtree
	// [userSearchBase]; required.
	UserSearchBase string
	// UserLoginAttribute holds the login name [userLoginAttribute]; ""
	// is uid (OpenLDAP) or sAMAccountName (AD; userPrincipalName also
	// works).
	UserLoginAttribute string
	// UserObjectClass is the class of user entries [userObjectClass]; ""
	// is inetOrgPerson (OpenLDAP) or person (AD).
	UserObjectClass string
	// UserNameAttribute holds the display name [userNameAttribute]; "" is
	// cn (OpenLDAP) or displayName (AD).
	UserNameAttribute string
	// GroupSearchBase is where groups are searched [groupSearchBase]; ""
	// is UserSearchBase.
	GroupSearchBase string
	// GroupObjectClass is the class of group entries
	// [groupObjectClass]; "" is groupOfNames (OpenLDAP) or group (AD).
	GroupObjectClass string
	// GroupMemberAttribute holds a group's members' DNs
	// [groupMemberAttribute]; "" is member.
	GroupMemberAttribute string
	// GroupNameAttribute holds a group's name [groupNameAttribute]; "" is
	// cn.
	GroupNameAttribute string
	// GroupMembership is MembershipMemberOf or MembershipGroupSearch
	// [groupMembership]; "" is MembershipMemberOf for AD and
	// MembershipGroupSearch for OpenLDAP (whose memberOf needs an
	// overlay).
	GroupMembership string
	// NestedGroups follows groups in groups, MaxNestingDepth levels at
	// most, loops cut [nestedGroups, "true" or "false"]; false reads the
	// user's own groups only.
	NestedGroups bool
	// ConnectTimeout bounds connecting to one server, TLS handshake and
	// StartTLS included [connectTimeout, a Go duration]; 0 is
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// RequestTimeout bounds each request to the server [requestTimeout];
	// 0 is DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// withDefaults is c with its zero values replaced by their defaults.
func (c Config) withDefaults() Config {
	ad := c.Flavor == authn.ProviderActiveDirectory
	def := func(v *string, openldap, activedirectory string) {
		if *v == "" {
			*v = openldap
			if ad {
				*v = activedirectory
			}
		}
	}
	def(&c.TLS, TLSLDAPS, TLSLDAPS)
	def(&c.UserLoginAttribute, "uid", "sAMAccountName")
	def(&c.UserObjectClass, "inetOrgPerson", "person")
	def(&c.UserNameAttribute, "cn", "displayName")
	def(&c.GroupSearchBase, c.UserSearchBase, c.UserSearchBase)
	def(&c.GroupObjectClass, "groupOfNames", "group")
	def(&c.GroupMemberAttribute, "member", "member")
	def(&c.GroupNameAttribute, "cn", "cn")
	def(&c.GroupMembership, MembershipGroupSearch, MembershipMemberOf)
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}
