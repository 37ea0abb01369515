package herdtest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// SlapdDirectory is one of the two trees a Slapd serves: an OpenLDAP-style
// one (inetOrgPerson users named by uid, groupOfNames groups) and an
// Active Directory-style one (users with sAMAccountName, userPrincipalName,
// objectGUID and userAccountControl; "group" groups).
type SlapdDirectory struct {
	// Flavor is "openldap" or "activedirectory".
	Flavor string
	Suffix string
	// RootDN is the directory's administrator, which the harness uses.
	RootDN string
	// ServiceDN and ServicePassword are the read-only service account
	// that identity providers bind as.
	ServiceDN, ServicePassword string
	// UsersDN holds the users (and a sub-tree of contractors); GroupsDN
	// the groups.
	UsersDN, GroupsDN string
}

// SlapdUser is a user of a Slapd.
type SlapdUser struct {
	// Login is the uid (OpenLDAP) or sAMAccountName (AD).
	Login string
	// DisplayName is the cn and displayName.
	DisplayName string
	DN          string
	Password    string
	// UPN is the AD userPrincipalName, login@corp.example.
	UPN string
	// GUID is an AD user's objectGUID as a canonical GUID string, or ""
	// (OpenLDAP users, and the AD user frank who has none).
	GUID string
	// Disabled: the AD user's userAccountControl has ACCOUNTDISABLE.
	Disabled bool
}

// slapdSeedUsers are the users of both trees. carol's DN needs escaping
// (parentheses and a comma); twin exists twice, the second one among the
// contractors; in the AD tree dave is disabled and frank has no objectGUID.
var slapdSeedUsers = []struct {
	login, name      string
	contractor, byCN bool
	disabled, noGUID bool
}{
	{login: "alice", name: "Alice Liddell"},
	{login: "bob", name: "Bob Builder"},
	{login: "carol", name: "Carol (Ops) Danvers, Jr", byCN: true},
	{login: "mallory", name: "Mallory Mallet"},
	{login: "dave", name: "Dave Disabled", disabled: true},
	{login: "frank", name: "Frank Legacy", noGUID: true},
	{login: "twin", name: "Twin One"},
	{login: "twin", name: "Twin Two", contractor: true},
}

// slapdSeedGroups are the groups of both trees, in the order they are
// added; members starting with "group:" are groups. g1 gets g2 as a member
// afterwards, closing the loop g1 ⊂ g2 ⊂ g1.
var slapdSeedGroups = []struct {
	name    string
	members []string
}{
	{"devs", []string{"alice", "bob", "dave"}},
	{"ops", []string{"alice", "carol"}},
	{"staff", []string{"group:ops"}},
	{"g1", []string{"mallory"}},
	{"g2", []string{"group:g1"}},
}

// slapdGroupClass is the structural class of groups by flavor.
var slapdGroupClass = map[string]string{"openldap": "groupOfNames", "activedirectory": "group"}

// SlapdPassword is the password of a user of a Slapd.
func SlapdPassword(login string) string { return "pw-" + login + "-Xq7!" }

func newSlapdDirectories() (openldap, ad SlapdDirectory) {
	openldap = SlapdDirectory{
		Flavor: "openldap", Suffix: "dc=herd,dc=test", RootDN: "cn=admin,dc=herd,dc=test",
		ServiceDN: "cn=herd-svc,ou=services,dc=herd,dc=test", ServicePassword: "svc-openldap-pw",
		UsersDN: "ou=people,dc=herd,dc=test", GroupsDN: "ou=groups,dc=herd,dc=test",
	}
	ad = SlapdDirectory{
		Flavor: "activedirectory", Suffix: "dc=corp,dc=example", RootDN: "cn=admin,dc=corp,dc=example",
		ServiceDN: "cn=herd-svc,ou=Service Accounts,dc=corp,dc=example", ServicePassword: "svc-ad-pw",
		UsersDN: "ou=Users,dc=corp,dc=example", GroupsDN: "ou=Groups,dc=corp,dc=example",
	}
	return openldap, ad
}

// newSlapdUser describes a user of d (not yet in the directory).
func newSlapdUser(d SlapdDirectory, login, name string, contractor, byCN bool) SlapdUser {
	parent := d.UsersDN
	if contractor {
		parent = "ou=contractors," + d.UsersDN
	}
	rdn := "uid=" + escapeDNValue(login)
	if d.Flavor == "activedirectory" || byCN {
		rdn = "cn=" + escapeDNValue(name)
	}
	u := SlapdUser{Login: login, DisplayName: name, DN: rdn + "," + parent, Password: SlapdPassword(login)}
	if d.Flavor == "activedirectory" {
		u.UPN = login + "@corp.example"
		sum := sha256.Sum256([]byte(u.DN))
		sum[6], sum[8] = sum[6]&0x0f|0x40, sum[8]&0x3f|0x80
		u.GUID = fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	}
	return u
}

// userLDIF is the LDIF add record of u.
func userLDIF(d SlapdDirectory, u SlapdUser) string {
	sn := u.DisplayName[strings.LastIndex(u.DisplayName, " ")+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\ncn: %s\nsn: %s\ndisplayName: %s\nuid: %s\nuserPassword: %s\n",
		u.DN, u.DisplayName, sn, u.DisplayName, u.Login, u.Password)
	if d.Flavor == "activedirectory" {
		uac := 512 // NORMAL_ACCOUNT
		if u.Disabled {
			uac |= 2 // ACCOUNTDISABLE
		}
		fmt.Fprintf(&b, "objectClass: herdADAccount\nsAMAccountName: %s\nuserPrincipalName: %s\nuserAccountControl: %d\n", u.Login, u.UPN, uac)
		if u.GUID != "" {
			fmt.Fprintf(&b, "objectGUID:: %s\n", base64.StdEncoding.EncodeToString(adGUIDBytes(u.GUID)))
		}
	}
	return b.String() + "\n"
}

// adGUIDBytes is how AD stores a GUID: its first three fields little-endian.
func adGUIDBytes(guid string) []byte {
	var be []byte
	for _, part := range strings.Split(guid, "-") {
		var x []byte
		fmt.Sscanf(part, "%x", &x)
		be = append(be, x...)
	}
	return append([]byte{be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6]}, be[8:]...)
}

// escapeDNValue escapes an attribute value for a DN (RFC 4514).
func escapeDNValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		if strings.ContainsRune(`,+"\<>;=`, r) || (i == 0 && (r == ' ' || r == '#')) || (i == len(v)-1 && r == ' ') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
