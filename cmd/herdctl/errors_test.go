package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/certs"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, c *cli)
		args  []string
		want  string
	}{
		{"not logged in", func(*testing.T, *cli) {},
			[]string{"clusters", "list"}, "not logged in: run `herdctl login SERVER --username USERNAME --password-stdin`"},
		{"token refused", func(t *testing.T, c *cli) {
			c.login("alice", "s3cret")
			if err := c.srv.Client.DeleteAllOf(context.Background(), &v1.Token{}); err != nil {
				t.Fatal(err)
			}
		}, []string{"clusters", "list"}, "your token was refused (expired or revoked): run `herdctl login "},
		{"forbidden", func(_ *testing.T, c *cli) { c.login("bob", "hunter2") },
			[]string{"clusters", "create", "x"}, "forbidden: ask an administrator (you may not create clusters)"},
		{"not found", func(_ *testing.T, c *cli) { c.login("alice", "s3cret") },
			[]string{"clusters", "get", "nope"}, "cluster nope not found: see `herdctl clusters list`"},
		{"unreachable", func(t *testing.T, c *cli) {
			c.login("alice", "s3cret")
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			data, _ := os.ReadFile(c.config)
			_ = os.WriteFile(c.config, []byte(strings.ReplaceAll(string(data), c.srv.URL, "https://"+addr)), 0o600)
		}, []string{"clusters", "list"}, "is unreachable (dial tcp"},
		{"CA changed", func(t *testing.T, c *cli) {
			c.login("alice", "s3cret")
			cfg := c.readConfig()
			cfg.CACert = otherCA(t)
			if err := saveConfig(c.config, &cfg); err != nil {
				t.Fatal(err)
			}
		}, []string{"clusters", "list"}, "does not match the CA pinned at login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			tt.setup(t, c)
			c.fails(tt.want, "", tt.args...)
		})
	}
}

func TestUnreachableNamesServer(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.srv.Close()
	_, _, err := c.run("", "whoami")
	if err == nil || !strings.Contains(err.Error(), "server "+c.srv.URL+" is unreachable") {
		t.Errorf("got %v, want it to say %s is unreachable", err, c.srv.URL)
	}
}

// otherCA is a CA that signed nothing the tests serve.
func otherCA(t *testing.T) string {
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
	return string(data)
}
