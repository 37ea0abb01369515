package github

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"herd.dev/herd/internal/authn"
)

type user struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

type org struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
}

type team struct {
	ID           int64  `json:"id"`
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	Organization org    `json:"organization"`
}

// pageSize is GitHub's largest page.
const pageSize = "100"

// user reads the token's user.
func (p *Provider) user(ctx context.Context, token string) (*user, error) {
	var u user
	if _, err := p.get(ctx, token, "/user", &u); err != nil {
		return nil, err
	}
	if u.ID == 0 || u.Login == "" {
		return nil, fmt.Errorf("github: GET /user: answer without id or login")
	}
	return &u, nil
}

// groups reads the orgs and teams of the token's user as group
// principals, sorted.
func (p *Provider) groups(ctx context.Context, token string) ([]string, error) {
	orgs, err := listAll[org](ctx, p, token, "/user/orgs?per_page="+pageSize)
	if err != nil {
		return nil, err
	}
	teams, err := listAll[team](ctx, p, token, "/user/teams?per_page="+pageSize)
	if err != nil {
		return nil, err
	}
	groups := make([]string, 0, len(orgs)+len(teams))
	for _, o := range orgs {
		groups = append(groups, orgPrincipal(o.ID))
	}
	for _, t := range teams {
		groups = append(groups, teamPrincipal(t.ID))
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

func userPrincipal(id int64) string {
	return authn.ProviderGitHub + "_user://" + strconv.FormatInt(id, 10)
}

func orgPrincipal(id int64) string {
	return authn.ProviderGitHub + "_org://" + strconv.FormatInt(id, 10)
}

func teamPrincipal(id int64) string {
	return authn.ProviderGitHub + "_team://" + strconv.FormatInt(id, 10)
}
