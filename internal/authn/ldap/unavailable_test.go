package ldap_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/ldap"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdtest"
)

// TestUnavailable: a directory that is down, slow, or whose certificate
// does not verify is authn.ErrProviderUnavailable, within the timeouts.
func TestUnavailable(t *testing.T) {
	const timeout = 500 * time.Millisecond
	closed := closedAddr(t)
	silent := silentListener(t)
	stopped := stoppedSlapd(t)
	otherCA := otherCAPEM(t)
	tests := []struct {
		name    string
		servers []string
		tls     string
		caPEM   []byte
		svcPW   string
		want    string // in the error
	}{
		{name: "closed port", servers: []string{closed}, want: "cannot connect"},
		{name: "stopped server", servers: []string{stopped}, want: "cannot connect"},
		{name: "slow directory ldaps", servers: []string{silent}, want: "did not answer in time (connectTimeout 500ms)"},
		{name: "slow directory starttls", servers: []string{silent}, tls: ldap.TLSStartTLS, want: "did not answer in time (connectTimeout 500ms)"},
		{name: "slow directory no TLS", servers: []string{silent}, tls: ldap.TLSNone, want: "timed out"},
		{name: "all servers down", servers: []string{closed, silent}, want: closed},
		{name: "wrong CA ldaps", servers: []string{slapd.TLSAddr}, caPEM: otherCA, want: "does not verify with the configured CA"},
		{name: "wrong CA starttls", servers: []string{slapd.Addr}, tls: ldap.TLSStartTLS, caPEM: otherCA, want: "does not verify with the configured CA"},
		{name: "service account refused", servers: []string{slapd.TLSAddr}, svcPW: "wrong", want: "check serviceAccountDN and its password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(openldap)
			cfg.Servers, cfg.ConnectTimeout, cfg.RequestTimeout = tt.servers, timeout, timeout
			if tt.tls != "" {
				cfg.TLS = tt.tls
			}
			if tt.caPEM != nil {
				cfg.CAPEM = tt.caPEM
			}
			if tt.svcPW != "" {
				cfg.ServiceAccountPassword = tt.svcPW
			}
			p := newProvider(t, cfg)
			start := time.Now()
			_, err := p.Authenticate(ctx(t), "alice", herdtest.SlapdPassword("alice"))
			took := time.Since(start)
			if !errors.Is(err, authn.ErrProviderUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Authenticate: %v; want %v saying %q", err, authn.ErrProviderUnavailable, tt.want)
			}
			// Each server costs at most the connect and one request timeout.
			if limit := time.Duration(len(tt.servers))*2*timeout + time.Second; took > limit {
				t.Errorf("Authenticate took %v, want less than %v", took, limit)
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// TestFailover: servers are tried in order, the first that answers is used.
func TestFailover(t *testing.T) {
	cfg := config(openldap)
	cfg.Servers = []string{closedAddr(t), silentListener(t), slapd.TLSAddr}
	cfg.ConnectTimeout = 300 * time.Millisecond
	got, err := newProvider(t, cfg).Authenticate(ctx(t), "bob", herdtest.SlapdPassword("bob"))
	if err != nil || !samePrincipal(got.UserPrincipal, userID(openldap, "bob")) {
		t.Fatalf("Authenticate = %+v, %v; want bob", got, err)
	}
}

// TestCallerDeadline: the caller's context ends a call to a slow
// directory, whatever the configured timeouts.
func TestCallerDeadline(t *testing.T) {
	cfg := config(openldap)
	cfg.Servers, cfg.TLS = []string{silentListener(t)}, ldap.TLSNone
	cfg.ConnectTimeout, cfg.RequestTimeout = time.Minute, time.Minute
	c, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newProvider(t, cfg).Search(c, "a", 10)
	if !errors.Is(err, authn.ErrProviderUnavailable) || time.Since(start) > 5*time.Second {
		t.Fatalf("Search after %v: %v; want %v soon after 300ms", time.Since(start), err, authn.ErrProviderUnavailable)
	}
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// stoppedSlapd is the address of a slapd that was started and stopped.
func stoppedSlapd(t *testing.T) string {
	s, err := herdtest.StartSlapd(ctx(t), herdtest.SlapdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if pids := herdtest.ProcessesMentioning(s.Dir); len(pids) > 0 {
		t.Fatalf("slapd processes %v still run after Stop", pids)
	}
	return s.TLSAddr
}

// otherCAPEM is a CA that did not sign slapd's certificate.
func otherCAPEM(t *testing.T) []byte {
	dir := t.TempDir()
	if _, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "not-slapd-ca"); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return pem
}
