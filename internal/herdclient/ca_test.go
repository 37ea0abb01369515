package herdclient

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/certs"
)

func TestFetchCA(t *testing.T) {
	ts := newTestServer(t)
	want := caPEM(ts.Server)
	ctx := context.Background()

	t.Run("right checksum", func(t *testing.T) {
		got, err := FetchCA(ctx, ts.URL, strings.ToUpper(Checksum(want))+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("wrong checksum", func(t *testing.T) {
		_, err := FetchCA(ctx, ts.URL, Checksum([]byte("other")))
		if !errors.Is(err, ErrCAChecksumMismatch) {
			t.Fatalf("got %v, want ErrCAChecksumMismatch", err)
		}
		if !strings.Contains(err.Error(), "administrator") {
			t.Errorf("message %q does not say to check the value from the administrator", err)
		}
	})
}

func TestTrust(t *testing.T) {
	ts := newTestServer(t)
	ts.answer(200, `{"items":[]}`)
	otherCA := otherCAPEM(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for success
	}{
		{"pinned by checksum", Config{CAChecksum: Checksum(caPEM(ts.Server))}, ""},
		{"wrong checksum", Config{CAChecksum: Checksum(otherCA)}, "does not match"},
		{"pinned PEM", Config{CACert: caPEM(ts.Server)}, ""},
		{"other CA", Config{CACert: otherCA}, "certificate"},
		{"insecure", Config{Insecure: true}, ""},
		{"system roots", Config{}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Server, cfg.Token = ts.URL, "tok"
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListClusters(ctx)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && tt.cfg.CAChecksum != "" && string(c.CACert()) != string(caPEM(ts.Server)) {
				t.Errorf("CACert: got %q, want the fetched bundle", c.CACert())
			}
		})
	}
}

// otherCAPEM returns a CA certificate that did not sign httptest's.
func otherCAPEM(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	crt := filepath.Join(dir, "ca.crt")
	if _, err := certs.LoadOrCreateCA(crt, filepath.Join(dir, "ca.key"), "other-ca"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
