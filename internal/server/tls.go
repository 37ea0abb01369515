package server

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"herd.dev/herd/internal/certs"
)

// serverTLS returns the serving certificate and the CA bundle that clients
// pin (served at /cacerts). With --tls-cert the bundle is --tls-ca, which
// must have signed it, or else the certificate file itself.
func serverTLS(cfg Config) (tls.Certificate, []byte, error) {
	if cfg.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return pair, nil, fmt.Errorf("%w: failed to load --tls-cert/--tls-key: %v", ErrConfig, err)
		}
		if cfg.TLSCA == "" {
			bundle, err := os.ReadFile(cfg.TLSCert)
			return pair, bundle, err
		}
		bundle, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return pair, nil, err
		}
		return pair, bundle, verifyChain(pair, bundle)
	}
	return generatedTLS(cfg.DataDir, servingNames(cfg))
}

// servingNames are the names a generated serving certificate must hold
// besides localhost and the loopback addresses: the host of --server-url
// and every --tls-san.
func servingNames(cfg Config) []string {
	names := append([]string(nil), cfg.TLSSANs...)
	if u, err := url.Parse(cfg.ServerURL); err == nil && u.Hostname() != "" {
		names = append(names, u.Hostname())
	}
	return names
}

// generatedTLS loads, or makes, the CA and serving certificate under
// dataDir/tls, valid for names too.
func generatedTLS(dataDir string, extra []string) (tls.Certificate, []byte, error) {
	dir := filepath.Join(dataDir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, caKey := caFiles(dataDir)
	ca, err := certs.LoadOrCreateCA(caCert, caKey, "herd-server-ca")
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	hostname, _ := os.Hostname()
	names := []string{"localhost"}
	if hostname != "" {
		names = append(names, hostname)
	}
	crt, key := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")
	if err := ca.EnsureLeaf(crt, key, certs.Leaf{
		CommonName: "herd-server", Server: true, DNSNames: names,
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}); err != nil {
		return tls.Certificate{}, nil, err
	}
	if _, err := ca.AddNames(crt, key, extra); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return pair, nil, err
	}
	bundle, err := os.ReadFile(caCert)
	return pair, bundle, err
}

// verifyChain checks that the serving certificate (with the
// intermediates after it in its file) chains to a CA of bundle, for a
// server name it holds.
func verifyChain(pair tls.Certificate, bundle []byte) error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		return fmt.Errorf("%w: --tls-ca holds no PEM certificate", ErrConfig)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("%w: --tls-cert: %v", ErrConfig, err)
	}
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("%w: --tls-cert is not signed by a CA of --tls-ca (%v): give the CA bundle that issued it", ErrConfig, err)
	}
	return nil
}

// Checksum is the sha256 of the CA bundle in hex, as agents and herdctl
// pin it.
func Checksum(bundle []byte) string { return certs.Checksum(bundle) }

// publicKeyPin is the curl --pinnedpubkey value of the serving key.
func publicKeyPin(pair tls.Certificate) (string, error) {
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:]), nil
}
