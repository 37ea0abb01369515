package server

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"herd.dev/herd/internal/certs"
)

// serverTLS returns the serving certificate and the CA bundle that clients
// pin (served at /cacerts). With --tls-cert the bundle is that file.
func serverTLS(cfg Config) (tls.Certificate, []byte, error) {
	if cfg.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return pair, nil, fmt.Errorf("failed to load --tls-cert/--tls-key: %w", err)
		}
		bundle, err := os.ReadFile(cfg.TLSCert)
		return pair, bundle, err
	}
	dir := filepath.Join(cfg.DataDir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, caKey := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
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
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return pair, nil, err
	}
	bundle, err := os.ReadFile(caCert)
	return pair, bundle, err
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
