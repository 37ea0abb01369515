package herdtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Directory is the tree of a flavor ("openldap" or "activedirectory").
func (s *Slapd) Directory(flavor string) SlapdDirectory {
	if flavor == s.AD.Flavor {
		return s.AD
	}
	return s.OpenLDAP
}

// User is the first user of flavor's tree with that login (the zero
// SlapdUser if none).
func (s *Slapd) User(flavor, login string) SlapdUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users[flavor] {
		if u.Login == login {
			return u
		}
	}
	return SlapdUser{}
}

// GroupDN is the DN of a group of flavor's tree.
func (s *Slapd) GroupDN(flavor, group string) string {
	return "cn=" + escapeDNValue(group) + "," + s.Directory(flavor).GroupsDN
}

// AddUser adds a user with no groups (password SlapdPassword(login)).
func (s *Slapd) AddUser(ctx context.Context, flavor, login string) (SlapdUser, error) {
	d := s.Directory(flavor)
	u := newSlapdUser(d, login, "Test "+login, false, false)
	if err := s.Modify(ctx, flavor, userLDIF(d, u)); err != nil {
		return u, fmt.Errorf("failed to add user %s: %w", login, err)
	}
	s.mu.Lock()
	s.users[flavor] = append(s.users[flavor], u)
	s.mu.Unlock()
	return u, nil
}

// AddGroup adds a group whose members are the given DNs (at least one).
func (s *Slapd) AddGroup(ctx context.Context, flavor, group string, memberDNs ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: %s\ncn: %s\n", s.GroupDN(flavor, group), slapdGroupClass[flavor], group)
	for _, dn := range memberDNs {
		fmt.Fprintf(&b, "member: %s\n", dn)
	}
	return s.Modify(ctx, flavor, b.String())
}

// AddToGroup makes a user a member of a group.
func (s *Slapd) AddToGroup(ctx context.Context, flavor, group, login string) error {
	return s.Modify(ctx, flavor, fmt.Sprintf("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n",
		s.GroupDN(flavor, group), s.User(flavor, login).DN))
}

// RemoveFromGroup ends a user's membership of a group.
func (s *Slapd) RemoveFromGroup(ctx context.Context, flavor, group, login string) error {
	return s.Modify(ctx, flavor, fmt.Sprintf("dn: %s\nchangetype: modify\ndelete: member\nmember: %s\n",
		s.GroupDN(flavor, group), s.User(flavor, login).DN))
}

// DeleteUser deletes a user (the memberof overlay drops its memberships).
func (s *Slapd) DeleteUser(ctx context.Context, flavor, login string) error {
	return s.Modify(ctx, flavor, fmt.Sprintf("dn: %s\nchangetype: delete\n", s.User(flavor, login).DN))
}

// Modify applies LDIF records (adds when they have no changetype) to
// flavor's tree as its administrator, with ldapmodify.
func (s *Slapd) Modify(ctx context.Context, flavor, ldif string) error {
	pwFile := filepath.Join(s.Dir, "root.pw")
	if err := os.WriteFile(pwFile, []byte(s.rootPW), 0o600); err != nil {
		return err
	}
	rootDN := s.Directory(flavor).RootDN
	cmd := exec.CommandContext(ctx, s.tools.ldapmodify, "-a", "-x", "-H", s.URL, "-D", rootDN, "-y", pwFile)
	cmd.Stdin = strings.NewReader(ldif)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ldapmodify: %w\n%s", err, out.String())
	}
	return nil
}

// seed fills both trees.
func (s *Slapd) seed(ctx context.Context) error {
	for _, d := range []SlapdDirectory{s.OpenLDAP, s.AD} {
		if err := s.Modify(ctx, d.Flavor, s.seedLDIF(d)); err != nil {
			return fmt.Errorf("%s tree: %w", d.Flavor, err)
		}
	}
	return nil
}

func (s *Slapd) seedLDIF(d SlapdDirectory) string {
	var b strings.Builder
	dc := strings.TrimPrefix(strings.Split(d.Suffix, ",")[0], "dc=")
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n\n", d.Suffix, dc, dc)
	serviceOU := strings.SplitN(d.ServiceDN, ",", 2)[1]
	for _, ou := range []string{d.UsersDN, "ou=contractors," + d.UsersDN, d.GroupsDN, serviceOU} {
		name := strings.TrimPrefix(strings.Split(ou, ",")[0], "ou=")
		fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, name)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: herd-svc\nuserPassword: %s\n\n",
		d.ServiceDN, d.ServicePassword)
	var users []SlapdUser
	for _, su := range slapdSeedUsers {
		u := newSlapdUser(d, su.login, su.name, su.contractor, su.byCN)
		if d.Flavor == "activedirectory" {
			u.Disabled = su.disabled
			if su.noGUID {
				u.GUID = ""
			}
		}
		users = append(users, u)
		b.WriteString(userLDIF(d, u))
	}
	s.mu.Lock()
	s.users[d.Flavor] = users
	s.mu.Unlock()
	for _, g := range slapdSeedGroups {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: %s\ncn: %s\n", s.GroupDN(d.Flavor, g.name), slapdGroupClass[d.Flavor], g.name)
		for _, m := range g.members {
			dn := ""
			if group, ok := strings.CutPrefix(m, "group:"); ok {
				dn = s.GroupDN(d.Flavor, group)
			} else {
				for _, u := range users {
					if u.Login == m {
						dn = u.DN
						break
					}
				}
			}
			fmt.Fprintf(&b, "member: %s\n", dn)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "dn: %s\nchangetype: modify\nadd: member\nmember: %s\n\n", s.GroupDN(d.Flavor, "g1"), s.GroupDN(d.Flavor, "g2"))
	return b.String()
}
