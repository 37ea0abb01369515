package ldap_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/ldap"
	"herd.dev/herd/internal/herdtest"
)

// slapd is the directory of this package's tests, started (and installed
// when missing, with hack/install-slapd.sh) by TestMain.
var slapd *herdtest.Slapd

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := herdtest.StartSlapd(ctx, herdtest.SlapdOptions{})
	cancel()
	if err != nil {
		// Failing, not skipping: these tests need a real slapd.
		fmt.Fprintf(os.Stderr, "FAIL: cannot start slapd for the LDAP tests: %v\n", err)
		return 1
	}
	defer s.Stop()
	slapd = s
	return m.Run()
}

const (
	openldap = authn.ProviderOpenLDAP
	ad       = authn.ProviderActiveDirectory
)

// config is a Config for flavor's tree of slapd, over ldaps, with nested
// groups and short timeouts.
func config(flavor string) ldap.Config {
	d := slapd.Directory(flavor)
	return ldap.Config{
		Flavor:                 flavor,
		Servers:                []string{slapd.TLSAddr},
		TLS:                    ldap.TLSLDAPS,
		CAPEM:                  slapd.CAPEM,
		ServiceAccountDN:       d.ServiceDN,
		ServiceAccountPassword: d.ServicePassword,
		UserSearchBase:         d.UsersDN,
		GroupSearchBase:        d.GroupsDN,
		NestedGroups:           true,
		ConnectTimeout:         2 * time.Second,
		RequestTimeout:         2 * time.Second,
	}
}

// newProvider is a Provider for cfg, logging into the test's log.
func newProvider(t *testing.T, cfg ldap.Config) *ldap.Provider {
	t.Helper()
	p, err := ldap.New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}

// userID is the principal id of a seeded user.
func userID(flavor, login string) string {
	u := slapd.User(flavor, login)
	if flavor == ad && u.GUID != "" {
		return ad + "_user://" + u.GUID
	}
	return flavor + "_user://" + u.DN
}

// groupIDs are the principal ids of seeded groups.
func groupIDs(flavor string, groups ...string) []string {
	var ids []string
	for _, g := range groups {
		ids = append(ids, flavor+"_group://"+slapd.GroupDN(flavor, g))
	}
	return ids
}

// samePrincipal compares principal ids, DNs as LDAP does: slapd may
// escape a DN's characters otherwise than the seed did ("\2C" for "\,").
func samePrincipal(got, want string) bool {
	gs, gdn, _ := strings.Cut(got, "://")
	ws, wdn, _ := strings.Cut(want, "://")
	g, gerr := goldap.ParseDN(gdn)
	w, werr := goldap.ParseDN(wdn)
	if gs != ws || gerr != nil || werr != nil {
		return got == want
	}
	return g.EqualFold(w)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
