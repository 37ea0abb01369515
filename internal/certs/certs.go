// Package certs makes and keeps the certificate authorities and leaf
// certificates that Herd's parts serve and authenticate with. Every file is
// made once and kept, so a restarted component keeps its identity.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Authority is a CA that issues leaf certificates.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadOrCreateCA loads the CA at certPath/keyPath, or creates it there
// (ECDSA P-256, valid 10 years) with common name cn.
func LoadOrCreateCA(certPath, keyPath, cn string) (*Authority, error) {
	if exists(certPath) && exists(keyPath) {
		cert, key, err := loadPair(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("failed to load CA %s: %w", certPath, err)
		}
		return &Authority{Cert: cert, Key: key}, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	if err := WriteKey(keyPath, key); err != nil {
		return nil, err
	}
	if err := WritePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &Authority{Cert: cert, Key: key}, err
}

// Leaf describes a certificate to issue.
type Leaf struct {
	CommonName    string
	Organizations []string
	// Server and Client set the extended key usages.
	Server, Client bool
	DNSNames       []string
	IPs            []net.IP
}

// EnsureLeaf issues l into certPath/keyPath unless both exist already.
func (a *Authority) EnsureLeaf(certPath, keyPath string, l Leaf) error {
	if exists(certPath) && exists(keyPath) {
		return nil
	}
	der, key, err := a.issue(l, 5*365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := WriteKey(keyPath, key); err != nil {
		return err
	}
	return WritePEM(certPath, "CERTIFICATE", der, 0o644)
}

// Issue issues l, valid for validity, and keeps it in memory only: for an
// identity that lives as long as the process (a replica's peer
// certificate).
func (a *Authority) Issue(l Leaf, validity time.Duration) (tls.Certificate, error) {
	der, key, err := a.issue(l, validity)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, err
}

// AddNames makes the leaf at certPath/keyPath, issued by a, valid for the
// DNS names and addresses of names too: when one is missing it issues the
// certificate again for the same key (so that public-key pins stay valid),
// with its old names and the new ones, for as long as the old one was
// valid. It reports whether it did.
func (a *Authority) AddNames(certPath, keyPath string, names []string) (bool, error) {
	cert, signer, err := loadPair(certPath, keyPath)
	if err != nil {
		return false, err
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		return false, errors.New("the key is not an EC key")
	}
	l := Leaf{CommonName: cert.Subject.CommonName, Organizations: cert.Subject.Organization,
		DNSNames: cert.DNSNames, IPs: cert.IPAddresses}
	for _, u := range cert.ExtKeyUsage {
		l.Server = l.Server || u == x509.ExtKeyUsageServerAuth
		l.Client = l.Client || u == x509.ExtKeyUsageClientAuth
	}
	missing := false
	for _, n := range names {
		if cert.VerifyHostname(n) == nil {
			continue
		}
		missing = true
		if ip := net.ParseIP(n); ip != nil {
			l.IPs = append(l.IPs, ip)
		} else {
			l.DNSNames = append(l.DNSNames, n)
		}
	}
	if !missing {
		return false, nil
	}
	der, err := a.issueFor(l, key, cert.NotAfter.Sub(cert.NotBefore)-time.Hour)
	if err != nil {
		return false, err
	}
	return true, WritePEM(certPath, "CERTIFICATE", der, 0o644)
}

func (a *Authority) issue(l Leaf, validity time.Duration) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := a.issueFor(l, key, validity)
	return der, key, err
}

func (a *Authority) issueFor(l Leaf, key *ecdsa.PrivateKey, validity time.Duration) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: l.Organizations},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPs,
	}
	if l.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if l.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	return x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.Key)
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
	return parsePair(certPEM, keyPEM)
}

// ParseAuthority is the CA of a PEM certificate and EC key.
func ParseAuthority(certPEM, keyPEM []byte) (*Authority, error) {
	cert, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("not a CA certificate")
	}
	return &Authority{Cert: cert, Key: key}, nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("malformed PEM")
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

// WriteKey writes an EC private key as PEM, readable by the owner only.
func WriteKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return WritePEM(path, "EC PRIVATE KEY", der, 0o600)
}

// WritePEM writes one PEM block atomically.
func WritePEM(path, typ string, der []byte, mode os.FileMode) error {
	return WriteFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// WriteFileAtomic writes through a temporary file and a rename, so a crash
// never leaves half a file behind.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Checksum is the sha256 of a CA bundle in hex, as agents and herdctl pin
// it (the server sends it with /cacerts).
func Checksum(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	return hex.EncodeToString(sum[:])
}
