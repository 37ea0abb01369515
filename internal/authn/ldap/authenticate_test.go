package ldap_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/ldap"
	"herd.dev/herd/internal/herdtest"
)

type authCase struct {
	name     string
	flavor   string
	mod      []func(*ldap.Config)
	login    string // the seeded user whose identity is wanted
	username string // what is typed; "" is login
	password string // "" is the user's password; "\x00empty" is ""
	groups   []string
	wantErr  error
}

func TestAuthenticate(t *testing.T) {
	starttls := func(c *ldap.Config) { c.Servers, c.TLS = []string{slapd.Addr}, ldap.TLSStartTLS }
	plain := func(c *ldap.Config) { c.Servers, c.TLS = []string{slapd.Addr}, ldap.TLSNone }
	memberOf := func(c *ldap.Config) { c.GroupMembership = ldap.MembershipMemberOf }
	groupSearch := func(c *ldap.Config) { c.GroupMembership = ldap.MembershipGroupSearch }
	flat := func(c *ldap.Config) { c.NestedGroups = false }
	upn := func(c *ldap.Config) { c.UserLoginAttribute = "userPrincipalName" }
	tests := []authCase{
		{name: "openldap ldaps", flavor: openldap, login: "alice", groups: []string{"devs", "ops", "staff"}},
		{name: "openldap starttls", flavor: openldap, mod: mods(starttls), login: "bob", groups: []string{"devs"}},
		{name: "openldap no TLS on loopback", flavor: openldap, mod: mods(plain), login: "bob", groups: []string{"devs"}},
		{name: "openldap memberOf", flavor: openldap, mod: mods(memberOf), login: "alice", groups: []string{"devs", "ops", "staff"}},
		{name: "openldap DN to escape, group search", flavor: openldap, login: "carol", groups: []string{"ops", "staff"}},
		{name: "openldap DN to escape, memberOf", flavor: openldap, mod: mods(memberOf), login: "carol", groups: []string{"ops", "staff"}},
		{name: "openldap nested groups off", flavor: openldap, mod: mods(flat), login: "alice", groups: []string{"devs", "ops"}},
		{name: "openldap group loop, group search", flavor: openldap, login: "mallory", groups: []string{"g1", "g2"}},
		{name: "openldap group loop, memberOf", flavor: openldap, mod: mods(memberOf), login: "mallory", groups: []string{"g1", "g2"}},
		{name: "openldap dave is not disabled", flavor: openldap, login: "dave", groups: []string{"devs"}},
		{name: "ad ldaps", flavor: ad, login: "alice", groups: []string{"devs", "ops", "staff"}},
		{name: "ad starttls", flavor: ad, mod: mods(starttls), login: "carol", groups: []string{"ops", "staff"}},
		{name: "ad group search", flavor: ad, mod: mods(groupSearch), login: "alice", groups: []string{"devs", "ops", "staff"}},
		{name: "ad group loop", flavor: ad, login: "mallory", groups: []string{"g1", "g2"}},
		{name: "ad login case-insensitive", flavor: ad, login: "bob", username: "BoB", groups: []string{"devs"}},
		{name: "ad userPrincipalName login", flavor: ad, mod: mods(upn), login: "bob", username: "bob@corp.example", groups: []string{"devs"}},
		{name: "ad no objectGUID: DN principal", flavor: ad, login: "frank"},
		{name: "openldap wrong password", flavor: openldap, login: "alice", password: "nope", wantErr: authn.ErrBadCredentials},
		{name: "ad wrong password", flavor: ad, login: "alice", password: "nope", wantErr: authn.ErrBadCredentials},
		{name: "openldap unknown user", flavor: openldap, login: "zoe", password: "x", wantErr: authn.ErrBadCredentials},
		{name: "ad unknown user", flavor: ad, login: "zoe", password: "x", wantErr: authn.ErrBadCredentials},
		{name: "openldap empty password", flavor: openldap, login: "alice", password: "\x00empty", wantErr: authn.ErrBadCredentials},
		{name: "ad empty password", flavor: ad, login: "alice", password: "\x00empty", wantErr: authn.ErrBadCredentials},
		{name: "openldap user found twice", flavor: openldap, login: "twin", wantErr: authn.ErrBadCredentials},
		{name: "ad user found twice", flavor: ad, login: "twin", wantErr: authn.ErrBadCredentials},
		{name: "ad disabled user", flavor: ad, login: "dave", wantErr: authn.ErrBadCredentials},
	}
	for _, flavor := range []string{openldap, ad} {
		for _, inj := range []string{"*", "*)(uid=*", "admin)(|(uid=*", `\2a`, "ali*", `alic\65`, "alice)(uid=*", "alice\x00"} {
			// With alice's password: any of these that reached the
			// filter unescaped would find alice, or fail otherwise.
			tests = append(tests, authCase{name: flavor + " injection " + inj, flavor: flavor, login: "alice", username: inj, wantErr: authn.ErrBadCredentials})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(tt.flavor)
			for _, m := range tt.mod {
				m(&cfg)
			}
			username, password := tt.username, tt.password
			if username == "" {
				username = tt.login
			}
			switch password {
			case "":
				password = herdtest.SlapdPassword(tt.login)
			case "\x00empty":
				password = ""
			}
			got, err := newProvider(t, cfg).Authenticate(ctx(t), username, password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate(%q) = %+v, %v; want %v", username, got, err, tt.wantErr)
				}
				t.Logf("refused as wanted: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", username, err)
			}
			u := slapd.User(tt.flavor, tt.login)
			want := &authn.ExternalIdentity{
				Provider: tt.flavor, UserPrincipal: userID(tt.flavor, tt.login),
				Username: tt.login, DisplayName: u.DisplayName, Groups: groupIDs(tt.flavor, tt.groups...),
			}
			if cfg.UserLoginAttribute == "userPrincipalName" {
				want.Username = u.UPN
			}
			if got.Provider != want.Provider || !samePrincipal(got.UserPrincipal, want.UserPrincipal) || got.Username != want.Username ||
				got.DisplayName != want.DisplayName || !slices.Equal(got.Groups, want.Groups) || got.RefreshState != "" {
				t.Errorf("Authenticate(%q)\n got %+v\nwant %+v", username, got, want)
			}
		})
	}
}

func mods(m ...func(*ldap.Config)) []func(*ldap.Config) { return m }

// TestEmptyPasswordBindsHere shows why Authenticate refuses empty
// passwords itself: this directory, like some in the field, takes a DN
// with an empty password as an unauthenticated bind and says yes.
func TestEmptyPasswordBindsHere(t *testing.T) {
	c, err := goldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.UnauthenticatedBind(slapd.User(openldap, "alice").DN); err != nil {
		t.Fatalf("unauthenticated bind: %v; want the directory to accept it", err)
	}
}

// TestNestingDepthLimit: a chain of groups deeper than MaxNestingDepth is
// followed MaxNestingDepth levels above the user's own group, then cut.
func TestNestingDepthLimit(t *testing.T) {
	c := ctx(t)
	for _, flavor := range []string{openldap, ad} {
		login := "nest-" + flavor[:2]
		u, err := slapd.AddUser(c, flavor, login)
		if err != nil {
			t.Fatal(err)
		}
		member := u.DN
		var chain []string
		for i := range ldap.MaxNestingDepth + 3 {
			name := fmt.Sprintf("%s-chain%02d", login, i)
			if err := slapd.AddGroup(c, flavor, name, member); err != nil {
				t.Fatal(err)
			}
			member = slapd.GroupDN(flavor, name)
			chain = append(chain, name)
		}
		want := groupIDs(flavor, chain[:ldap.MaxNestingDepth+1]...)
		for _, mode := range []string{ldap.MembershipMemberOf, ldap.MembershipGroupSearch} {
			t.Run(flavor+" "+mode, func(t *testing.T) {
				cfg := config(flavor)
				cfg.GroupMembership = mode
				got, err := newProvider(t, cfg).Authenticate(c, login, herdtest.SlapdPassword(login))
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if !slices.Equal(got.Groups, want) {
					t.Errorf("groups\n got %q\nwant %q", got.Groups, want)
				}
			})
		}
	}
}
