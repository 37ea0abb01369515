package localcluster_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

// TestAuthWebhookConfig checks that the kube-apiserver runs with the token
// webhook and that its kubeconfig and the serving certificate for
// kube-api-auth fit together.
func TestAuthWebhookConfig(t *testing.T) {
	c := clusters.Get("alpha")
	args := apiserverArgs(t, c)
	for _, want := range []string{
		"--authentication-token-webhook-config-file=" + c.AuthWebhookKubeconfigPath(),
		"--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl=2s",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("kube-apiserver flags: %s missing from %v", want, args)
		}
	}

	host, port, err := net.SplitHostPort(c.AuthWebhookListen())
	if p, _ := strconv.Atoi(port); err != nil || host != "127.0.0.1" || p == 0 || slices.Contains(c.Ports(), p) {
		t.Errorf("AuthWebhookListen: got %q, want 127.0.0.1 and a port of its own (cluster ports %v)", c.AuthWebhookListen(), c.Ports())
	}
	cfg, err := clientcmd.LoadFromFile(c.AuthWebhookKubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	if want := "https://" + c.AuthWebhookListen() + "/authenticate"; cluster.Server != want {
		t.Errorf("webhook server: got %q, want %q", cluster.Server, want)
	}
	if cluster.CertificateAuthority != c.AuthWebhookCAFile() {
		t.Errorf("webhook certificate-authority: got %q, want %q", cluster.CertificateAuthority, c.AuthWebhookCAFile())
	}

	if _, err := tls.LoadX509KeyPair(c.AuthWebhookCertFile(), c.AuthWebhookKeyFile()); err != nil {
		t.Fatalf("webhook serving certificate and key: %v", err)
	}
	leaf := readCert(t, c.AuthWebhookCertFile())
	for _, tt := range []struct {
		name, ca string
		wantOK   bool
	}{
		{"webhook CA", c.AuthWebhookCAFile(), true},
		// The cluster CA also signs kwok's 127.0.0.1 certificate: it must
		// not be what the kube-apiserver trusts for the webhook.
		{"cluster CA", c.CACertPath(), false},
	} {
		roots := x509.NewCertPool()
		roots.AddCert(readCert(t, tt.ca))
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tt.wantOK {
			t.Errorf("serving certificate verified by the %s for 127.0.0.1: got err %v, want ok=%v", tt.name, err, tt.wantOK)
		}
	}
}

// TestAuthWebhookDown checks the cluster with nothing on the webhook port:
// an unknown bearer token is refused rather than left hanging, and client
// certificates and service account tokens still work.
func TestAuthWebhookDown(t *testing.T) {
	c := clusters.Get("alpha")
	if portListening(portOf(t, c.AuthWebhookListen())) {
		t.Fatalf("something listens on the webhook address %s", c.AuthWebhookListen())
	}
	start := time.Now()
	if status, user := whoAmI(t, c, "herd-unknown-token"); status != http.StatusUnauthorized {
		t.Errorf("unknown token: got %d (%q), want 401", status, user)
	}
	t.Logf("unknown token refused in %s", time.Since(start).Round(time.Millisecond))

	k := kubectlFor(c)
	sa := strings.TrimSpace(k.Run(t, "create", "token", "default", "-n", "default"))
	if status, user := whoAmI(t, c, sa); status != http.StatusCreated || user != "system:serviceaccount:default:default" {
		t.Errorf("service account token: got %d %q, want 201 system:serviceaccount:default:default", status, user)
	}
}

// TestAuthWebhookUp serves the webhook with the cluster's files and checks
// that the kube-apiserver takes its answers, and forgets them soon enough:
// a revoked token is refused once the kube-apiserver's own 10 s success
// cache ends (with the webhook's default cache TTL of 2m it would take 2
// minutes).
func TestAuthWebhookUp(t *testing.T) {
	c := clusters.Get("beta")
	// A token of its own: the kube-apiserver remembers answers about
	// earlier ones (with -count=N, say).
	good := "herd-good-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var revoked atomic.Bool
	serveWebhook(t, c, func(token string) (string, bool) {
		return "alice", token == good && !revoked.Load()
	})
	if status, user := whoAmI(t, c, good); status != http.StatusCreated || user != "alice" {
		t.Fatalf("token the webhook accepts: got %d %q, want 201 alice", status, user)
	}
	if status, _ := whoAmI(t, c, "herd-bad"); status != http.StatusUnauthorized {
		t.Errorf("token the webhook refuses: got %d, want 401", status)
	}
	revoked.Store(true)
	took := herdtest.Eventually(t, "revoked token refused", 20*time.Second, func() error {
		if status, user := whoAmI(t, c, good); status != http.StatusUnauthorized {
			return fmt.Errorf("got %d %q, want 401", status, user)
		}
		return nil
	})
	t.Logf("revoked token refused after %s", took.Round(time.Millisecond))
}

// apiserverArgs returns the command line of c's kube-apiserver.
func apiserverArgs(t *testing.T, c *localcluster.Cluster) []string {
	t.Helper()
	for _, pid := range c.PIDs() {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if strings.HasSuffix(args[0], "/kube-apiserver") {
			return args[1:]
		}
	}
	t.Fatalf("no kube-apiserver among the processes %v", c.PIDs())
	return nil
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

func portOf(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	if err != nil || n == 0 {
		t.Fatalf("%q has no port", hostport)
	}
	return n
}
