package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// startServer runs a server on dataDir until the test ends or stop is called.
func startServer(t *testing.T, dataDir string, logs io.Writer) (s *server.Server, stop func()) {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir: dataDir,
		Listen:  "127.0.0.1:0",
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, started) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(3 * time.Minute):
		cancel()
		t.Fatal("server did not start within 3 minutes")
	}
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server run: %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

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

// TestServerEmbedded starts the server on an embedded management cluster,
// checks its endpoints and the CRDs, restarts it and finds its state again.
func TestServerEmbedded(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "server")
	var logs bytes.Buffer
	s, stop := startServer(t, dataDir, &logs)
	base := "https://" + s.Addr().String()

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

	k := herdtest.Kubectl{Kubeconfig: filepath.Join(dataDir, "management", "kubeconfig")}
	if _, errOut, err := k.ExecStdin(`apiVersion: management.herd.dev/v1
kind: Cluster
metadata: {name: c-keep}
spec: {displayName: Kept across restarts}
`, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply cluster: %v %s", err, errOut)
	}
	stop()

	s, _ = startServer(t, dataDir, &logs)
	if got := k.Run(t, "get", "clusters.management.herd.dev", "c-keep", "-o", "jsonpath={.spec.displayName}"); got != "Kept across restarts" {
		t.Errorf("cluster after restart: got %q", got)
	}
	if !bytes.Equal(s.CABundle(), []byte(bundle)) {
		t.Error("the CA changed across a restart; pinned clients would break")
	}
	if !strings.Contains(logs.String(), `"msg":"herd server ready"`) {
		t.Errorf("no structured ready line in the log:\n%s", logs.String())
	}
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
