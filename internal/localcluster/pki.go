package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the paths of one cluster's certificates and keys. Every file
// is made once and kept, so a restarted cluster keeps its identity.
type pki struct{ dir string }

// Certificate names under <Dir>/pki (each has .crt and .key).
const (
	certCA            = "ca"
	certAPIServer     = "apiserver"
	certKubeletClient = "apiserver-kubelet-client"
	certAdmin         = "admin"
	certController    = "controller-manager"
	certScheduler     = "scheduler"
	certKwok          = "kwok"
	keyServiceAccount = "sa"
)

func (p pki) crt(name string) string { return filepath.Join(p.dir, name+".crt") }
func (p pki) key(name string) string { return filepath.Join(p.dir, name+".key") }
func (p pki) saPub() string          { return filepath.Join(p.dir, keyServiceAccount+".pub") }

type leaf struct {
	name   string
	cn     string
	orgs   []string
	server bool
	client bool
}

// ensure creates whatever certificates and keys are missing.
func (p pki) ensure() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	caCert, caKey, err := p.ensureCA()
	if err != nil {
		return fmt.Errorf("failed to create the cluster CA: %w", err)
	}
	leaves := []leaf{
		{name: certAPIServer, cn: "kube-apiserver", server: true},
		{name: certKubeletClient, cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true},
		{name: certAdmin, cn: "herd-admin", orgs: []string{"system:masters"}, client: true},
		{name: certController, cn: "system:kube-controller-manager", client: true},
		{name: certScheduler, cn: "system:kube-scheduler", client: true},
		{name: certKwok, cn: "kwok", orgs: []string{"system:masters"}, server: true, client: true},
	}
	for _, l := range leaves {
		if exists(p.crt(l.name)) && exists(p.key(l.name)) {
			continue
		}
		if err := p.issue(l, caCert, caKey); err != nil {
			return fmt.Errorf("failed to issue the %s certificate: %w", l.name, err)
		}
	}
	if !exists(p.key(keyServiceAccount)) || !exists(p.saPub()) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return err
		}
		if err := writeKey(p.key(keyServiceAccount), key); err != nil {
			return err
		}
		if err := writePEM(p.saPub(), "PUBLIC KEY", pub, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (p pki) ensureCA() (*x509.Certificate, crypto.Signer, error) {
	if exists(p.crt(certCA)) && exists(p.key(certCA)) {
		return loadPair(p.crt(certCA), p.key(certCA))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "herd-local-cluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(p.key(certCA), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(p.crt(certCA), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func (p pki) issue(l leaf, ca *x509.Certificate, caKey crypto.Signer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.cn, Organization: l.orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if l.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP(serviceIP)}
	}
	if l.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	if err := writeKey(p.key(l.name), key); err != nil {
		return err
	}
	return writePEM(p.crt(l.name), "CERTIFICATE", der, 0o644)
}

func loadPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("malformed PEM in " + filepath.Dir(certPath))
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// never leaves half a file behind.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
