package certs

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
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

func TestAddNames(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ca, err := LoadOrCreateCA(p("ca.crt"), p("ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.EnsureLeaf(p("srv.crt"), p("srv.key"), Leaf{CommonName: "srv", Server: true, DNSNames: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	keyBefore, _ := os.ReadFile(p("srv.key"))
	changed, err := ca.AddNames(p("srv.crt"), p("srv.key"), []string{"localhost"})
	if err != nil || changed {
		t.Fatalf("AddNames with names it has: changed %v, %v", changed, err)
	}
	changed, err = ca.AddNames(p("srv.crt"), p("srv.key"), []string{"herd.example.com", "10.1.2.3", "localhost"})
	if err != nil || !changed {
		t.Fatalf("AddNames with new names: changed %v, %v", changed, err)
	}
	cert, _, err := loadPair(p("srv.crt"), p("srv.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, name := range []string{"localhost", "herd.example.com", "10.1.2.3"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("key usages: %v", cert.ExtKeyUsage)
	}
	if keyAfter, _ := os.ReadFile(p("srv.key")); string(keyAfter) != string(keyBefore) {
		t.Error("AddNames changed the key: public-key pins would break")
	}
	if cert.NotAfter.Sub(cert.NotBefore) < 4*365*24*time.Hour {
		t.Errorf("validity shrank to %v", cert.NotAfter.Sub(cert.NotBefore))
	}
}
