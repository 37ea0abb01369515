package ldap

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// Search limits.
const (
	DefaultSearchLimit = 50
	MaxSearchLimit     = 500
)

// Search finds the users whose login or display name, and the groups
// whose name, starts with query (taken literally: it is escaped), sorted by
// name. limit caps the answer; 0 or less is
// DefaultSearchLimit, more than MaxSearchLimit is MaxSearchLimit. When more
// match, which ones come back is the server's choice (LDAP has no standard
// ordering). Disabled AD accounts are left out.
func (p *Provider) Search(ctx context.Context, query string, limit int) ([]authn.Principal, error) {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	prefix := goldap.EscapeFilter(query) + "*"
	userFilter := fmt.Sprintf("(&(objectClass=%s)(|(%s=%s)(%s=%s)))", p.cfg.UserObjectClass,
		p.cfg.UserLoginAttribute, prefix, p.cfg.UserNameAttribute, prefix)
	users, err := p.searchPrefix(c, p.cfg.UserSearchBase, userFilter, p.userAttributes(), limit)
	if err != nil {
		return nil, err
	}
	var out []authn.Principal
	for _, e := range users {
		if p.disabled(e) {
			continue
		}
		out = append(out, authn.Principal{
			ID: p.userPrincipal(e), Kind: "user", Provider: p.cfg.Flavor,
			Name: p.login(e), DisplayName: e.GetEqualFoldAttributeValue(p.cfg.UserNameAttribute),
		})
	}
	groupFilter := fmt.Sprintf("(&(objectClass=%s)(%s=%s))", p.cfg.GroupObjectClass, p.cfg.GroupNameAttribute, prefix)
	groups, err := p.searchPrefix(c, p.cfg.GroupSearchBase, groupFilter, []string{p.cfg.GroupNameAttribute}, limit)
	if err != nil {
		return nil, err
	}
	for _, e := range groups {
		out = append(out, authn.Principal{
			ID: p.groupPrincipal(e.DN), Kind: "group", Provider: p.cfg.Flavor,
			Name: e.GetEqualFoldAttributeValue(p.cfg.GroupNameAttribute),
		})
	}
	slices.SortFunc(out, func(a, b authn.Principal) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), limit)], nil
}

// searchPrefix runs a search of at most limit entries; more is not an
// error, the answer is cut.
func (p *Provider) searchPrefix(c *conn, base, filter string, attrs []string, limit int) ([]*goldap.Entry, error) {
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit, 0, false, filter, attrs, nil)
	res, err := c.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, c.fail("search "+base, err)
	}
	if res == nil {
		return nil, nil
	}
	return res.Entries, nil
}
