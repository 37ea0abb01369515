package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestServerEmbedded starts the server on an embedded management cluster
// with a generated admin password, checks its endpoints and the CRDs, makes
// users, tokens and clusters, restarts it and finds them all again.
func TestServerEmbedded(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "server")
	var printed bytes.Buffer
	embedded := func(c *server.Config) {
		c.DataDir, c.BootstrapPassword, c.BootstrapOut = dataDir, "", &printed
	}
	s := herdtest.NewServer(t, embedded)
	base := s.URL

	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, bundle := get(t, insecure, base+"/cacerts")
	if resp.StatusCode != 200 {
		t.Fatalf("/cacerts: status %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("X-Herd-Ca-Checksum"), server.Checksum([]byte(bundle)); got != want || len(got) != 64 {
		t.Errorf("checksum header: got %q, want sha256 %q", got, want)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(bundle)) {
		t.Fatalf("/cacerts is not PEM: %q", bundle)
	}
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := get(t, pinned, base+path); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("%s: got %d %q, want 200 ok", path, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, pinned, base+"/nosuch"); resp.StatusCode != 404 {
		t.Errorf("/nosuch: got %d, want 404", resp.StatusCode)
	}

	password := bootstrapPassword(t, dataDir, printed.String())
	admin := s.Login(t, "admin", password)
	createUser(t, s, admin, "dora", "dora-password-1234")
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "c-keep", DisplayName: "Kept across restarts"})
	herdtest.Expect(t, "create cluster", code, body, http.StatusCreated)
	s.Stop()

	s = herdtest.NewServer(t, embedded)
	k := herdtest.Kubectl{Kubeconfig: filepath.Join(dataDir, "management", "kubeconfig")}
	if got := k.Run(t, "get", "clusters.management.herd.dev", "c-keep", "-o", "jsonpath={.spec.displayName}"); got != "Kept across restarts" {
		t.Errorf("cluster after restart: got %q", got)
	}
	code, body = s.Do(t, "GET", "/v1/clusters/c-keep", admin, nil)
	herdtest.Expect(t, "the admin token and the cluster after a restart", code, body, http.StatusOK)
	s.Login(t, "dora", "dora-password-1234")
	if !bytes.Equal(s.CABundle(), []byte(bundle)) {
		t.Error("the CA changed across a restart; pinned clients would break")
	}
	if n := strings.Count(printed.String(), password); n != 1 {
		t.Errorf("the bootstrap password was printed %d times, want once", n)
	}
	if !strings.Contains(s.Logs.String(), `"msg":"herd server ready"`) {
		t.Errorf("no structured ready line in the log:\n%s", s.Logs.String())
	}
	if strings.Contains(s.Logs.String(), password) {
		t.Error("the bootstrap password is in the log")
	}
}

// bootstrapPassword returns the generated password from the 0600 file,
// checking that the printed line has the same one.
func bootstrapPassword(t *testing.T, dataDir, printed string) string {
	t.Helper()
	path := filepath.Join(dataDir, "bootstrap-password")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	password := strings.TrimSpace(string(data))
	if len(password) < 32 || !strings.Contains(printed, password) {
		t.Fatalf("generated password %d chars; printed %q", len(password), printed)
	}
	return password
}

func TestServerBadInput(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "mine.txt"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherVersion := t.TempDir()
	if err := os.WriteFile(filepath.Join(otherVersion, "herd-server.json"), []byte(`{"kind":"HerdServerData","version":99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"bad listen", server.Config{Listen: "8443"}, "--listen"},
		{"cert without key", server.Config{TLSCert: "/etc/hostname"}, "--tls-cert and --tls-key"},
		{"missing kubeconfig", server.Config{Kubeconfig: "/nonexistent/kubeconfig"}, "--kubeconfig"},
		{"foreign data dir", server.Config{DataDir: foreign, Listen: "127.0.0.1:0"}, "not written by herd server"},
		{"other version", server.Config{DataDir: otherVersion, Listen: "127.0.0.1:0"}, "layout version 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := server.New(tt.cfg)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = s.Run(ctx, nil)
			}
			if !errors.Is(err, server.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a configuration error naming %q", err, tt.want)
			}
		})
	}
	if data, _ := os.ReadFile(filepath.Join(foreign, "mine.txt")); string(data) != "keep" {
		t.Error("the foreign data dir was changed")
	}
}
