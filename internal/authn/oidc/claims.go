package oidc

import (
	"slices"
	"strings"
)

// claims is what Herd reads of an ID token or a userinfo answer.
type claims struct {
	sub      string
	username string
	name     string
	groups   []string
	// hasGroups tells an absent groups claim (ask userinfo) from an empty
	// one (the user is in no group).
	hasGroups bool
}

// complete tells whether nothing is left to ask the userinfo endpoint.
func (c claims) complete() bool {
	return c.hasGroups && c.username != "" && c.name != ""
}

// readClaims reads the configured claims of a decoded token or userinfo.
func (p *Provider) readClaims(m map[string]any) claims {
	c := claims{
		sub:      stringClaim(m, "sub"),
		username: stringClaim(m, p.cfg.UsernameClaim),
		name:     stringClaim(m, "name"),
	}
	if c.username == "" {
		c.username = stringClaim(m, "email")
	}
	if c.name == "" {
		c.name = strings.TrimSpace(stringClaim(m, "given_name") + " " + stringClaim(m, "family_name"))
	}
	c.groups, c.hasGroups = groupsClaim(m[p.cfg.GroupsClaim])
	return c
}

// merge fills what c lacks from more (the userinfo answer).
func (c claims) merge(more claims) claims {
	if c.username == "" {
		c.username = more.username
	}
	if c.name == "" {
		c.name = more.name
	}
	if !c.hasGroups && more.hasGroups {
		c.groups, c.hasGroups = more.groups, true
	}
	return c
}

func stringClaim(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// groupsClaim reads a list of strings, or one string, ignoring anything
// else; it returns the groups sorted, each once.
func groupsClaim(v any) ([]string, bool) {
	var groups []string
	switch v := v.(type) {
	case nil:
		return nil, false
	case string:
		groups = []string{v}
	case []any:
		for _, g := range v {
			if s, ok := g.(string); ok {
				groups = append(groups, s)
			}
		}
	default:
		return nil, false
	}
	groups = slices.DeleteFunc(groups, func(g string) bool { return g == "" })
	slices.Sort(groups)
	return slices.Compact(groups), true
}

// groupPrincipals turns group names into principal ids, sorted.
func (p *Provider) groupPrincipals(groups []string) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, p.groupPrincipal(g))
	}
	slices.Sort(out)
	return out
}
