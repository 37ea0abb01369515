package certs

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestCAAndLeaf(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ca, err := LoadOrCreateCA(p("ca.crt"), p("ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(p("ca.crt"), p("ca.key"), "other")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("a second LoadOrCreateCA made a new CA instead of loading the kept one")
	}
	leaf := Leaf{CommonName: "srv", Server: true, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if err := ca.EnsureLeaf(p("srv.crt"), p("srv.key"), leaf); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(p("srv.crt"))
	if err := ca.EnsureLeaf(p("srv.crt"), p("srv.key"), leaf); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(p("srv.crt")); string(second) != string(first) {
		t.Error("EnsureLeaf reissued an existing certificate")
	}
	cert, _, err := loadPair(p("srv.crt"), p("srv.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("leaf does not verify against its CA for localhost: %v", err)
	}
	if fi, _ := os.Stat(p("srv.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode: got %v, want 0600", fi.Mode().Perm())
	}
}
