package kubeapiauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/kubernetes/fake"

	"herd.dev/herd/internal/certs"
)

// TestServeHTTPS runs the real HTTPS server on a loopback port and asks it
// as the apiserver would: a TokenReview POSTed by a client that trusts the
// serving CA.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ca, err := certs.LoadOrCreateCA(p("ca.crt"), p("ca.key"), "kube-api-auth-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf := certs.Leaf{CommonName: "kube-api-auth", Server: true, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if err := ca.EnsureLeaf(p("tls.crt"), p("tls.key"), leaf); err != nil {
		t.Fatal(err)
	}
	valid, token := newCopy("t-valid", nil)
	s, err := New(Config{Kube: fake.NewClientset(valid.Secret()), Cluster: testCluster, TLSCert: p("tls.crt"), TLSKey: p("tls.key"),
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + ln.Addr().String()
	eventually(t, "healthz 200", func() bool {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	tests := []struct {
		name, token string
		want        bool
	}{
		{"valid", token, true},
		{"wrong secret", "t-valid:" + strings.Repeat("A", 43), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Post(base+"/authenticate", "application/json",
				strings.NewReader(reviewJSON("authentication.k8s.io/v1", "TokenReview", tt.token)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out authenticationv1.TokenReview
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("POST /authenticate: %d, %v", resp.StatusCode, err)
			}
			if out.Status.Authenticated != tt.want || tt.want && out.Status.User.Username != valid.UserName {
				t.Errorf("status: got %+v, want authenticated %v as %s", out.Status, tt.want, valid.UserName)
			}
		})
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after cancel: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name, cert, key, wantErr string
	}{
		{"no TLS files", "", "", "--tls-cert and --tls-key are required"},
		{"missing files", "/nonexistent/tls.crt", "/nonexistent/tls.key", "--tls-cert/--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Kube: fake.NewClientset(), Cluster: testCluster, TLSCert: tt.cert, TLSKey: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			err = s.Serve(context.Background(), ln)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Serve: got %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	kube := fake.NewClientset()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{"valid", Config{Kube: kube, Cluster: "c-abc12"}, ""},
		{"valid with TLS and listen", Config{Kube: kube, Cluster: "local", Listen: "127.0.0.1:0", TLSCert: "a", TLSKey: "b"}, ""},
		{"no client", Config{Cluster: "c-abc12"}, "--kubeconfig"},
		{"no cluster", Config{Kube: kube}, "--cluster"},
		{"cluster not a label value", Config{Kube: kube, Cluster: "c/abc"}, "--cluster"},
		{"cert without key", Config{Kube: kube, Cluster: "c-abc12", TLSCert: "a"}, "--tls-key"},
		{"bad listen", Config{Kube: kube, Cluster: "c-abc12", Listen: "6440"}, "--listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := err == nil; got != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate: got %v, want error naming %q", err, tt.wantErr)
			}
		})
	}
}
