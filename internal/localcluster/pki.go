package localcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"herd.dev/herd/internal/certs"
)

// pki holds the paths of one cluster's certificates and keys. Every file
// is made once and kept, so a restarted cluster keeps its identity.
type pki struct {
	dir string
	// serviceIP is the kubernetes Service's address, in the API server's
	// certificate.
	serviceIP string
}

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
	// The auth webhook has a CA of its own that signs nothing else: the
	// kube-apiserver believes whoever answers on the webhook port about who
	// a token belongs to, so no other loopback server of the cluster (kwok
	// holds a 127.0.0.1 certificate too) may pass for it.
	certAuthWebhookCA = "auth-webhook-ca"
	certAuthWebhook   = "auth-webhook"
)

func (p pki) crt(name string) string { return filepath.Join(p.dir, name+".crt") }
func (p pki) key(name string) string { return filepath.Join(p.dir, name+".key") }
func (p pki) saPub() string          { return filepath.Join(p.dir, keyServiceAccount+".pub") }

// ensure creates whatever certificates and keys are missing.
func (p pki) ensure() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	ca, err := certs.LoadOrCreateCA(p.crt(certCA), p.key(certCA), "herd-local-cluster-ca")
	if err != nil {
		return fmt.Errorf("failed to create the cluster CA: %w", err)
	}
	serving := certs.Leaf{
		Server:   true,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP(p.serviceIP)},
	}
	if err := p.dropIfMissingIP(certAPIServer, p.serviceIP); err != nil {
		return err
	}
	leaves := map[string]certs.Leaf{
		certAPIServer:     withName(serving, "kube-apiserver"),
		certKubeletClient: {CommonName: "kube-apiserver-kubelet-client", Organizations: []string{"system:masters"}, Client: true},
		certAdmin:         {CommonName: "herd-admin", Organizations: []string{"system:masters"}, Client: true},
		certController:    {CommonName: "system:kube-controller-manager", Client: true},
		certScheduler:     {CommonName: "system:kube-scheduler", Client: true},
	}
	kwok := withName(serving, "kwok")
	kwok.Organizations, kwok.Client = []string{"system:masters"}, true
	leaves[certKwok] = kwok
	for name, l := range leaves {
		if err := ca.EnsureLeaf(p.crt(name), p.key(name), l); err != nil {
			return fmt.Errorf("failed to issue the %s certificate: %w", name, err)
		}
	}
	if err := p.ensureAuthWebhook(); err != nil {
		return err
	}
	if _, err := os.Stat(p.saPub()); err == nil {
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
	if err := certs.WriteKey(p.key(keyServiceAccount), key); err != nil {
		return err
	}
	return certs.WritePEM(p.saPub(), "PUBLIC KEY", pub, 0o644)
}

// ensureAuthWebhook issues the serving certificate of `herd kube-api-auth`
// on 127.0.0.1 from the auth webhook CA.
func (p pki) ensureAuthWebhook() error {
	ca, err := certs.LoadOrCreateCA(p.crt(certAuthWebhookCA), p.key(certAuthWebhookCA), "herd-local-cluster-auth-webhook-ca")
	if err != nil {
		return fmt.Errorf("failed to create the auth webhook CA: %w", err)
	}
	leaf := certs.Leaf{CommonName: "herd-kube-api-auth", Server: true, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if err := ca.EnsureLeaf(p.crt(certAuthWebhook), p.key(certAuthWebhook), leaf); err != nil {
		return fmt.Errorf("failed to issue the %s certificate: %w", certAuthWebhook, err)
	}
	return nil
}

// dropIfMissingIP removes the certificate name when it does not hold ip
// (the Service range moved), so that ensure issues it again.
func (p pki) dropIfMissingIP(name, ip string) error {
	data, err := os.ReadFile(p.crt(name))
	if err != nil {
		return nil //nolint:nilerr // missing: ensure issues it
	}
	block, _ := pem.Decode(data)
	if block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			for _, have := range cert.IPAddresses {
				if have.Equal(net.ParseIP(ip)) {
					return nil
				}
			}
		}
	}
	_ = os.Remove(p.key(name))
	return os.Remove(p.crt(name))
}

// nodeCert names the client certificate of real node name.
func nodeCert(name string) string { return "node-" + name }

// ensureNode issues the kubelet's client certificate of node name, as
// system:node:<name> in system:nodes (the Node authorizer's subjects).
func (p pki) ensureNode(name string) error {
	ca, err := certs.LoadOrCreateCA(p.crt(certCA), p.key(certCA), "herd-local-cluster-ca")
	if err != nil {
		return err
	}
	l := certs.Leaf{CommonName: "system:node:" + name, Organizations: []string{"system:nodes"}, Client: true}
	return ca.EnsureLeaf(p.crt(nodeCert(name)), p.key(nodeCert(name)), l)
}

func withName(l certs.Leaf, cn string) certs.Leaf {
	l.CommonName = cn
	return l
}
