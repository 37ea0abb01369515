package server

import (
	"crypto/x509"
	"errors"
	"testing"
)

// TestGeneratedTLSNames: the generated serving certificate holds the host
// of --server-url and every --tls-san, also when it was made before they
// were given, and keeps its key (agents and import commands pin it).
func TestGeneratedTLSNames(t *testing.T) {
	dir := t.TempDir()
	first, _, err := generatedTLS(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, ServerURL: "https://herd.example.com:8443", TLSSANs: []string{"herd.herd-system.svc", "10.9.8.7"}}
	pair, bundle, err := generatedTLS(dir, servingNames(cfg))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(bundle)
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "herd.example.com", "herd.herd-system.svc", "10.9.8.7"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	firstPin, _ := publicKeyPin(first)
	if pin, _ := publicKeyPin(pair); pin != firstPin {
		t.Error("adding names changed the serving key")
	}
}

func TestValidateInClusterAndSANs(t *testing.T) {
	for _, c := range []Config{
		{InCluster: true, Kubeconfig: "/dev/null"},
		{TLSSANs: []string{"bad name"}},
		{TLSSANs: []string{"ok.example.com"}, TLSCert: "/dev/null", TLSKey: "/dev/null"},
	} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", c, err)
		}
	}
	ok := Config{InCluster: true, TLSSANs: []string{"herd.example.com", "*.herd.example.com", "10.0.0.1"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
