package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestPrivateCA: with --tls-cert from a company CA and --tls-ca, /cacerts
// serves that CA (its checksum in the header agents and herdctl pin),
// kubeconfigs embed it, and a client trusting only it connects; a
// certificate renewed under the same CA leaves all of that the same. A
// certificate the CA did not sign, or --tls-ca alone, is refused.
func TestPrivateCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "Example Corp CA")
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(name string, by *certs.Authority) (string, string) {
		crt, key := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		if err := by.EnsureLeaf(crt, key, certs.Leaf{CommonName: "herd.example.com", Server: true, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
			t.Fatal(err)
		}
		return crt, key
	}
	var seen []string
	for _, name := range []string{"serving-2026", "serving-2027"} { // a renewal under the same CA
		crt, key := leaf(name, ca)
		s := onMgmt(t, func(c *server.Config) { c.TLSCert, c.TLSKey, c.TLSCA = crt, key, filepath.Join(dir, "ca.crt") })
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := client.Get(s.URL + "/cacerts")
		if err != nil {
			t.Fatalf("%s: a client trusting only the company CA: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(body) != string(caPEM) {
			t.Errorf("%s: /cacerts serves %q, want the company CA", name, body)
		}
		seen = append(seen, resp.Header.Get("X-Herd-Ca-Checksum")+" "+server.Checksum(body))
		admin := s.Login(t, "admin", herdtest.BootstrapPassword)
		s.Do(t, "POST", "/v1/clusters", admin, map[string]string{"name": "corp"})
		code, kc := s.Do(t, "GET", "/v1/clusters/corp/kubeconfig", admin, nil)
		herdtest.Expect(t, "kubeconfig", code, kc, http.StatusOK)
		cfg, err := clientcmd.Load(kc)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cfg.Clusters {
			if string(c.CertificateAuthorityData) != string(caPEM) {
				t.Errorf("%s: kubeconfig CA %q, want the company CA", name, c.CertificateAuthorityData)
			}
		}
		s.Do(t, "DELETE", "/v1/clusters/corp?force=true", admin, nil)
		client.CloseIdleConnections()
	}
	if seen[0] != seen[1] || strings.TrimSpace(seen[0]) == "" {
		t.Errorf("checksums across a renewal: %q", seen)
	}

	other, err := certs.LoadOrCreateCA(filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key"), "Someone else")
	if err != nil {
		t.Fatal(err)
	}
	crt, key := leaf("foreign", other)
	for _, bad := range []struct {
		cfg  server.Config
		want string
	}{
		{server.Config{TLSCert: crt, TLSKey: key, TLSCA: filepath.Join(dir, "ca.crt"), Listen: "127.0.0.1:0", Kubeconfig: clusters.Get("mgmt").KubeconfigPath(), DataDir: t.TempDir()}, "not signed by a CA of --tls-ca"},
		{server.Config{TLSCA: filepath.Join(dir, "ca.crt")}, "give --tls-cert and --tls-key with it"},
	} {
		s, err := server.New(bad.cfg)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err = s.Run(ctx, nil)
			cancel()
		}
		if !errors.Is(err, server.ErrConfig) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want a configuration error saying %q", bad.cfg.TLSCA, err, bad.want)
		}
	}
}
