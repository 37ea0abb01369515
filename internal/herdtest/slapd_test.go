package herdtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlapd starts the LDAP harness, checks that memberOf follows group
// changes, and that Stop leaves neither a process nor a folder behind.
func TestSlapd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := StartSlapd(ctx, SlapdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ldapsearch := filepath.Join(filepath.Dir(s.tools.ldapmodify), "ldapsearch")
	search := func(t *testing.T, flavor, dn string, tls ...string) string {
		d := s.Directory(flavor)
		if len(tls) == 0 || tls[0] == "-ZZ" {
			tls = append([]string{"-H", s.URL}, tls...)
		}
		args := append([]string{"-x", "-LLL"}, tls...)
		cmd := exec.CommandContext(ctx, ldapsearch, append(args, "-D", d.ServiceDN, "-w", d.ServicePassword, "-b", dn, "-s", "base", "memberOf")...)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+filepath.Join(s.Dir, "ca.crt"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %s %v: %v\n%s", dn, tls, err, out)
		}
		return string(out)
	}
	t.Run("tls", func(t *testing.T) {
		for _, tls := range [][]string{{"-ZZ"}, {"-H", s.LDAPSURL}} {
			if got := search(t, "openldap", s.GroupDN("openldap", "ops"), tls...); !strings.Contains(got, "staff") {
				t.Errorf("ops's memberOf over %v = %q, want staff", tls, got)
			}
		}
	})
	for _, flavor := range []string{"openldap", "activedirectory"} {
		t.Run(flavor, func(t *testing.T) {
			alice := s.User(flavor, "alice")
			got := search(t, flavor, alice.DN)
			for _, g := range []string{"devs", "ops"} {
				if !strings.Contains(got, "memberOf: "+s.GroupDN(flavor, g)) {
					t.Errorf("alice's memberOf = %q, want %s", got, s.GroupDN(flavor, g))
				}
			}
			if err := s.RemoveFromGroup(ctx, flavor, "devs", "alice"); err != nil {
				t.Fatal(err)
			}
			if got := search(t, flavor, alice.DN); strings.Contains(got, s.GroupDN(flavor, "devs")) {
				t.Errorf("after removal alice's memberOf = %q, still has devs", got)
			}
			if got := search(t, flavor, s.GroupDN(flavor, "g1")); !strings.Contains(got, s.GroupDN(flavor, "g2")) {
				t.Errorf("g1's memberOf = %q, want g2 (the loop)", got)
			}
		})
	}
	s.Stop()
	if pids := ProcessesMentioning(s.Dir); len(pids) > 0 {
		t.Errorf("processes %v still run after Stop", pids)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Stop (%v)", s.Dir, err)
	}
}
