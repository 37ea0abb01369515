package github

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"herd.dev/herd/internal/authn"
)

// ErrNoSearchToken is what Search returns when Config.SearchToken is
// empty: GitHub's search needs a token, and Herd keeps none of its users'
// tokens for that.
var ErrNoSearchToken = errors.New("github: principal search needs a searchToken in the AuthConfig's Secret")

// defaultSearchLimit is Search's limit when given none.
const defaultSearchLimit = 20

type searchAnswer struct {
	Items []struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Type  string `json:"type"` // User or Organization
	} `json:"items"`
}

// Search finds users and organizations by login with GitHub's user
// search, and teams by slug or name among the teams the search token's
// account sees. It uses Config.SearchToken.
func (p *Provider) Search(ctx context.Context, query string, limit int) ([]authn.Principal, error) {
	if p.cfg.SearchToken == "" {
		return nil, ErrNoSearchToken
	}
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = defaultSearchLimit
	}
	limit = min(limit, 100)
	q := url.Values{"q": {query}, "per_page": {strconv.Itoa(limit)}}
	var ans searchAnswer
	if _, err := p.get(ctx, p.cfg.SearchToken, "/search/users?"+q.Encode(), &ans); err != nil {
		return nil, err
	}
	var out []authn.Principal
	for _, it := range ans.Items {
		switch it.Type {
		case "User":
			out = append(out, authn.Principal{ID: userPrincipal(it.ID), Kind: "user", Provider: authn.ProviderGitHub, Name: it.Login})
		case "Organization":
			out = append(out, authn.Principal{ID: orgPrincipal(it.ID), Kind: "group", Provider: authn.ProviderGitHub, Name: it.Login})
		}
	}
	if len(out) >= limit {
		return out[:limit], nil
	}
	teams, err := listAll[team](ctx, p, p.cfg.SearchToken, "/user/teams?per_page="+pageSize)
	if err != nil {
		return nil, err
	}
	lq := strings.ToLower(query)
	for _, t := range teams {
		name := t.Organization.Login + "/" + t.Slug
		if !strings.Contains(strings.ToLower(name), lq) && !strings.Contains(strings.ToLower(t.Name), lq) {
			continue
		}
		out = append(out, authn.Principal{ID: teamPrincipal(t.ID), Kind: "group", Provider: authn.ProviderGitHub, Name: name, DisplayName: t.Name})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
