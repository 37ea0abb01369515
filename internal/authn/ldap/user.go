package ldap

import (
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// AD attributes.
const (
	attrObjectGUID         = "objectGUID"
	attrUserAccountControl = "userAccountControl"
	attrMemberOf           = "memberOf"
	// uacAccountDisable is userAccountControl's ACCOUNTDISABLE bit.
	uacAccountDisable = 0x2
)

func (p *Provider) ad() bool { return p.cfg.Flavor == authn.ProviderActiveDirectory }

// userAttributes are the attributes read from user entries.
func (p *Provider) userAttributes() []string {
	attrs := []string{p.cfg.UserLoginAttribute, p.cfg.UserNameAttribute}
	if p.cfg.GroupMembership == MembershipMemberOf {
		attrs = append(attrs, attrMemberOf)
	}
	if p.ad() {
		attrs = append(attrs, attrObjectGUID, attrUserAccountControl)
	}
	return attrs
}

// findLogin finds the one user whose login attribute is login. None or
// more than one is authn.ErrBadCredentials.
func (p *Provider) findLogin(c *conn, login string) (*goldap.Entry, error) {
	filter := fmt.Sprintf("(&(objectClass=%s)(%s=%s))", p.cfg.UserObjectClass, p.cfg.UserLoginAttribute, goldap.EscapeFilter(login))
	req := goldap.NewSearchRequest(p.cfg.UserSearchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, filter, p.userAttributes(), nil)
	res, err := c.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("%w: login %q matches more than one user under %s", authn.ErrBadCredentials, login, p.cfg.UserSearchBase)
	}
	if err != nil {
		return nil, c.fail("search users", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, fmt.Errorf("%w: no user with %s=%q under %s", authn.ErrBadCredentials, p.cfg.UserLoginAttribute, login, p.cfg.UserSearchBase)
	case 1:
		return res.Entries[0], nil
	default:
		return nil, fmt.Errorf("%w: login %q matches %d users under %s", authn.ErrBadCredentials, login, len(res.Entries), p.cfg.UserSearchBase)
	}
}

// findPrincipal reads the user of a principal id: by objectGUID for AD
// principals that have one, else by DN. A user that is not there is
// authn.ErrUserGone.
func (p *Provider) findPrincipal(c *conn, principal string) (*goldap.Entry, error) {
	id, ok := strings.CutPrefix(principal, p.cfg.Flavor+"_user://")
	if !ok || id == "" {
		return nil, fmt.Errorf("ldap: %q is not a user principal of %s", principal, p.cfg.Flavor)
	}
	base, scope := id, goldap.ScopeBaseObject
	filter := fmt.Sprintf("(objectClass=%s)", p.cfg.UserObjectClass)
	if guid, ok := parseGUID(id); ok && p.ad() {
		base, scope = p.cfg.UserSearchBase, goldap.ScopeWholeSubtree
		filter = fmt.Sprintf("(&%s(%s=%s))", filter, attrObjectGUID, escapeBytes(guid))
	}
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 2, 0, false, filter, p.userAttributes(), nil)
	res, err := c.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("%w: %s: no such entry", authn.ErrUserGone, principal)
	}
	if err != nil {
		return nil, c.fail("read user "+principal, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("%w: %s: %d entries", authn.ErrUserGone, principal, len(res.Entries))
	}
	return res.Entries[0], nil
}

// disabled tells whether an AD account has ACCOUNTDISABLE.
func (p *Provider) disabled(e *goldap.Entry) bool {
	if !p.ad() {
		return false
	}
	uac, err := strconv.ParseInt(e.GetEqualFoldAttributeValue(attrUserAccountControl), 10, 64)
	return err == nil && uac&uacAccountDisable != 0
}

// userPrincipal is the principal id of a user entry.
func (p *Provider) userPrincipal(e *goldap.Entry) string {
	if p.ad() {
		if guid, ok := formatGUID(e.GetEqualFoldRawAttributeValue(attrObjectGUID)); ok {
			return authn.ProviderActiveDirectory + "_user://" + guid
		}
	}
	return p.cfg.Flavor + "_user://" + e.DN
}

// login is the login name of a user entry.
func (p *Provider) login(e *goldap.Entry) string {
	return e.GetEqualFoldAttributeValue(p.cfg.UserLoginAttribute)
}
