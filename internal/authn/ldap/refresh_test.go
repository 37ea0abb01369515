package ldap_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdtest"
)

// TestRefresh follows a user of each flavor through a group change and its
// deletion.
func TestRefresh(t *testing.T) {
	for _, flavor := range []string{openldap, ad} {
		t.Run(flavor, func(t *testing.T) {
			c := ctx(t)
			p := newProvider(t, config(flavor))
			u, err := slapd.AddUser(c, flavor, "rita")
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []string{"devs", "ops"} {
				if err := slapd.AddToGroup(c, flavor, g, "rita"); err != nil {
					t.Fatal(err)
				}
			}
			id, err := p.Authenticate(c, "rita", herdtest.SlapdPassword("rita"))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			steps := []struct {
				name    string
				change  func() error
				want    []string
				wantErr error
			}{
				{name: "unchanged", change: func() error { return nil }, want: groupIDs(flavor, "devs", "ops", "staff")},
				{name: "removed from ops", change: func() error { return slapd.RemoveFromGroup(c, flavor, "ops", "rita") }, want: groupIDs(flavor, "devs")},
				{name: "deleted", change: func() error { return slapd.DeleteUser(c, flavor, "rita") }, wantErr: authn.ErrUserGone},
			}
			for _, s := range steps {
				if err := s.change(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				got, state, err := p.Refresh(c, id.UserPrincipal, "")
				if !errors.Is(err, s.wantErr) || !slices.Equal(got, s.want) || state != "" {
					t.Errorf("%s: Refresh(%s) = %q, %q, %v; want %q, %v", s.name, id.UserPrincipal, got, state, err, s.want, s.wantErr)
				}
			}
			if flavor == ad && !strings.HasSuffix(id.UserPrincipal, u.GUID) {
				t.Errorf("AD principal %s is not by objectGUID %s", id.UserPrincipal, u.GUID)
			}
		})
	}
}

func TestRefreshPrincipals(t *testing.T) {
	tests := []struct {
		name      string
		flavor    string
		principal string
		want      []string
		wantErr   error
		wantOther bool // an error that is not ErrUserGone
	}{
		{name: "openldap by DN", flavor: openldap, principal: userID(openldap, "carol"), want: groupIDs(openldap, "ops", "staff")},
		{name: "ad by objectGUID", flavor: ad, principal: userID(ad, "alice"), want: groupIDs(ad, "devs", "ops", "staff")},
		{name: "ad by DN without objectGUID", flavor: ad, principal: userID(ad, "frank")},
		{name: "ad disabled user", flavor: ad, principal: userID(ad, "dave"), wantErr: authn.ErrUserGone},
		{name: "openldap unknown DN", flavor: openldap, principal: "openldap_user://uid=zoe," + slapd.OpenLDAP.UsersDN, wantErr: authn.ErrUserGone},
		{name: "openldap not a user", flavor: openldap, principal: "openldap_user://" + slapd.GroupDN(openldap, "devs"), wantErr: authn.ErrUserGone},
		{name: "ad unknown objectGUID", flavor: ad, principal: "activedirectory_user://00000000-0000-4000-8000-000000000000", wantErr: authn.ErrUserGone},
		{name: "other provider's principal", flavor: openldap, principal: userID(ad, "alice"), wantOther: true},
		{name: "group principal", flavor: ad, principal: groupIDs(ad, "devs")[0], wantOther: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, state, err := newProvider(t, config(tt.flavor)).Refresh(ctx(t), tt.principal, "kept")
			switch {
			case tt.wantOther:
				if err == nil || errors.Is(err, authn.ErrUserGone) || errors.Is(err, authn.ErrProviderUnavailable) {
					t.Errorf("Refresh(%s) = %q, %v; want an error of the caller's", tt.principal, got, err)
				}
			case !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) || state != "kept":
				t.Errorf("Refresh(%s) = %q, %q, %v; want %q, \"kept\", %v", tt.principal, got, state, err, tt.want, tt.wantErr)
			}
		})
	}
}
