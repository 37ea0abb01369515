package ldap_test

import (
	"fmt"
	"strings"
	"testing"

	"herd.dev/herd/internal/authn"
)

func TestSearch(t *testing.T) {
	user := func(flavor, login string) string { return "user " + login + " " + userID(flavor, login) }
	group := func(flavor, name string) string { return "group " + name + " " + groupIDs(flavor, name)[0] }
	tests := []struct {
		name   string
		flavor string
		query  string
		limit  int
		want   []string
	}{
		{"openldap login prefix", openldap, "al", 0, []string{user(openldap, "alice")}},
		{"openldap display name prefix", openldap, "Bob B", 0, []string{user(openldap, "bob")}},
		{"openldap users and groups", openldap, "d", 0, []string{user(openldap, "dave"), group(openldap, "devs")}},
		{"openldap groups", openldap, "g", 0, []string{group(openldap, "g1"), group(openldap, "g2")}},
		{"openldap both twins", openldap, "twin", 0, []string{"user twin " + openldap + "_user://" + twinTwo(openldap), user(openldap, "twin")}},
		{"openldap escaped name", openldap, "Carol (Ops", 0, []string{user(openldap, "carol")}},
		{"openldap limit", openldap, "", 3, []string{user(openldap, "alice"), user(openldap, "bob"), user(openldap, "carol")}},
		{"openldap star is literal", openldap, "*", 0, nil},
		{"openldap injection", openldap, "*)(uid=*", 0, nil},
		{"openldap escaped star", openldap, `\2a`, 0, nil},
		{"openldap nothing", openldap, "zz", 0, nil},
		{"ad login prefix", ad, "ali", 0, []string{user(ad, "alice")}},
		{"ad no disabled users", ad, "d", 0, []string{group(ad, "devs")}},
		{"ad user without objectGUID", ad, "fr", 0, []string{user(ad, "frank")}},
		{"ad groups", ad, "st", 0, []string{group(ad, "staff")}},
		{"ad injection", ad, "*)(sAMAccountName=*", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newProvider(t, config(tt.flavor)).Search(ctx(t), tt.query, tt.limit)
			if err != nil {
				t.Fatalf("Search(%q): %v", tt.query, err)
			}
			var gotS []string
			for _, p := range got {
				if p.Provider != tt.flavor || (p.Kind == "user") != strings.HasPrefix(p.ID, tt.flavor+"_user://") {
					t.Errorf("Search(%q): %+v does not look like a %s principal", tt.query, p, tt.flavor)
				}
				gotS = append(gotS, describe(p))
			}
			if !samePrincipals(gotS, tt.want) {
				t.Errorf("Search(%q, %d)\n got %q\nwant %q", tt.query, tt.limit, gotS, tt.want)
			}
		})
	}
}

func describe(p authn.Principal) string { return fmt.Sprintf("%s %s %s", p.Kind, p.Name, p.ID) }

// samePrincipals compares "kind name id" lists, ids with samePrincipal.
func samePrincipals(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := strings.SplitN(got[i], " ", 3), strings.SplitN(want[i], " ", 3)
		if len(g) != 3 || len(w) != 3 || g[0] != w[0] || g[1] != w[1] || !samePrincipal(g[2], w[2]) {
			return false
		}
	}
	return true
}

// twinTwo is the DN of the second twin, among the contractors.
func twinTwo(flavor string) string {
	return "uid=twin,ou=contractors," + slapd.Directory(flavor).UsersDN
}
