package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// groupFilterChunk is how many member DNs one group search asks about.
const groupFilterChunk = 50

// groups is the sorted group principal ids of a user entry (read with
// userAttributes): its own groups and, with NestedGroups, the groups
// those are in, level by level. Each group is visited once, so a loop
// ends; MaxNestingDepth bounds the levels.
func (p *Provider) groups(c *conn, user *goldap.Entry) ([]string, error) {
	var direct []string
	var err error
	if p.cfg.GroupMembership == MembershipMemberOf {
		direct = user.GetEqualFoldAttributeValues(attrMemberOf)
	} else if direct, err = p.groupsWithMembers(c, []string{user.DN}); err != nil {
		return nil, err
	}
	seen := dnSet{}
	frontier := seen.addNew(direct)
	for depth := 0; p.cfg.NestedGroups && len(frontier) > 0; depth++ {
		if depth == MaxNestingDepth {
			p.log.Warn("LDAP group nesting reaches the depth limit; groups above these are not followed",
				"user", user.DN, "limit", MaxNestingDepth, "groups", frontier)
			break
		}
		parents, err := p.parentGroups(c, frontier)
		if err != nil {
			return nil, err
		}
		frontier = seen.addNew(parents)
	}
	ids := make([]string, 0, len(seen))
	for _, dn := range seen {
		ids = append(ids, p.groupPrincipal(dn))
	}
	slices.Sort(ids)
	return ids, nil
}

// parentGroups is the groups that the groups dns are members of.
func (p *Provider) parentGroups(c *conn, dns []string) ([]string, error) {
	if p.cfg.GroupMembership == MembershipGroupSearch {
		return p.groupsWithMembers(c, dns)
	}
	var parents []string
	for _, dn := range dns {
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{attrMemberOf}, nil)
		res, err := c.Search(req)
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			continue // a membership of a group deleted since
		}
		if err != nil {
			return nil, c.fail("read group "+dn, err)
		}
		for _, e := range res.Entries {
			parents = append(parents, e.GetEqualFoldAttributeValues(attrMemberOf)...)
		}
	}
	return parents, nil
}

// groupsWithMembers searches the groups whose member attribute holds any
// of members, a page and a chunk of members at a time.
func (p *Provider) groupsWithMembers(c *conn, members []string) ([]string, error) {
	var dns []string
	for chunk := range slices.Chunk(members, groupFilterChunk) {
		var f strings.Builder
		fmt.Fprintf(&f, "(&(objectClass=%s)(|", p.cfg.GroupObjectClass)
		for _, m := range chunk {
			fmt.Fprintf(&f, "(%s=%s)", p.cfg.GroupMemberAttribute, goldap.EscapeFilter(m))
		}
		f.WriteString("))")
		req := goldap.NewSearchRequest(p.cfg.GroupSearchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, f.String(), []string{"1.1"}, nil)
		res, err := c.SearchWithPaging(req, 500)
		if err != nil {
			return nil, c.fail("search groups", err)
		}
		for _, e := range res.Entries {
			dns = append(dns, e.DN)
		}
	}
	return dns, nil
}

func (p *Provider) groupPrincipal(dn string) string { return p.cfg.Flavor + "_group://" + dn }

// dnSet holds DNs by their normalized form (attribute types and values
// compared without case, as DNs are in practice).
type dnSet map[string]string

// addNew adds dns and returns those it did not hold yet.
func (s dnSet) addNew(dns []string) []string {
	var added []string
	for _, dn := range dns {
		key := strings.ToLower(dn)
		if parsed, err := goldap.ParseDN(dn); err == nil {
			key = strings.ToLower(parsed.String())
		}
		if _, ok := s[key]; !ok {
			s[key] = dn
			added = append(added, dn)
		}
	}
	return added
}
