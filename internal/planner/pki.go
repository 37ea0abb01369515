package planner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"herd.dev/herd/internal/certs"
)

// The files of a provisioned cluster's PKI, as keys of its Secret and as
// paths under pki/ on its machines.
const (
	fileCA          = "ca.crt"
	fileCAKey       = "ca.key"
	fileSAKey       = "sa.key"
	fileSAPub       = "sa.pub"
	fileAPIServer   = "apiserver.crt"
	fileAPIKey      = "apiserver.key"
	fileAdmin       = "admin.crt"
	fileAdminKey    = "admin.key"
	fileController  = "controller-manager.crt"
	fileControlKey  = "controller-manager.key"
	fileScheduler   = "scheduler.crt"
	fileSchedKey    = "scheduler.key"
	keyAPIServerIPs = "apiserver-ips"
	// serviceIP is the kubernetes Service's address (serviceCIDR's first).
	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1"
)

// ensurePKI completes pki (the cluster's PKI Secret data, possibly
// empty): a CA, the service account key pair, and the certificates of the
// API server (for ips), the admin (system:masters), the controller
// manager and the scheduler. It reports whether anything changed.
func ensurePKI(pki map[string][]byte, ips []string) (bool, error) {
	dir, err := os.MkdirTemp("", "herd-pki-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	for name, data := range pki {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), data, 0o600); err != nil {
			return false, err
		}
	}
	slices.Sort(ips)
	wantIPs := strings.Join(ips, ",")
	if string(pki[keyAPIServerIPs]) != wantIPs {
		// A control-plane machine came or went: a new serving certificate.
		_ = os.Remove(filepath.Join(dir, fileAPIServer))
		_ = os.Remove(filepath.Join(dir, fileAPIKey))
	}
	ca, err := certs.LoadOrCreateCA(filepath.Join(dir, fileCA), filepath.Join(dir, fileCAKey), "herd-provisioned-cluster-ca")
	if err != nil {
		return false, err
	}
	serving := certs.Leaf{CommonName: "kube-apiserver", Server: true,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP(serviceIP)}}
	for _, ip := range ips {
		serving.IPs = append(serving.IPs, net.ParseIP(ip))
	}
	leaves := []struct {
		crt, key string
		leaf     certs.Leaf
	}{
		{fileAPIServer, fileAPIKey, serving},
		{fileAdmin, fileAdminKey, certs.Leaf{CommonName: "herd-admin", Organizations: []string{"system:masters"}, Client: true}},
		{fileController, fileControlKey, certs.Leaf{CommonName: "system:kube-controller-manager", Client: true}},
		{fileScheduler, fileSchedKey, certs.Leaf{CommonName: "system:kube-scheduler", Client: true}},
	}
	for _, l := range leaves {
		if err := ca.EnsureLeaf(filepath.Join(dir, l.crt), filepath.Join(dir, l.key), l.leaf); err != nil {
			return false, fmt.Errorf("failed to issue %s: %w", l.crt, err)
		}
	}
	if err := ensureSAKey(dir); err != nil {
		return false, err
	}
	changed := string(pki[keyAPIServerIPs]) != wantIPs
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return false, err
		}
		if string(pki[e.Name()]) != string(data) {
			pki[e.Name()], changed = data, true
		}
	}
	// After the files: the folder holds the old list.
	pki[keyAPIServerIPs] = []byte(wantIPs)
	return changed, nil
}

// ensureSAKey makes the service account signing key pair in dir.
func ensureSAKey(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, fileSAPub)); err == nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := certs.WriteKey(filepath.Join(dir, fileSAKey), key); err != nil {
		return err
	}
	return certs.WritePEM(filepath.Join(dir, fileSAPub), "PUBLIC KEY", pub, 0o644)
}
