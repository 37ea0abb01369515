package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// herdctlRun runs the built herdctl with a config file and stdin.
type herdctlRun struct {
	exe, config string
}

func (h herdctlRun) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.exe, args...)
	cmd.Env = append(os.Environ(), "HERDCONFIG="+h.config)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func (h herdctlRun) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := h.run(t, stdin, args...)
	if err != nil {
		t.Fatalf("herdctl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (h herdctlRun) fails(t *testing.T, want string, stdin string, args ...string) {
	t.Helper()
	out, errOut, err := h.run(t, stdin, args...)
	if err == nil || !strings.Contains(errOut, want) {
		t.Errorf("herdctl %s: got %v\n%s%s\nwant a failure saying %q", strings.Join(args, " "), err, out, errOut, want)
	}
}

// TestHerdctlAgainstServer drives the built herdctl against a real server
// on an embedded management cluster.
func TestHerdctlAgainstServer(t *testing.T) {
	s := herdtest.NewServer(t, nil)
	exe := herdtest.Build(t, ".", "herdctl")
	dir := t.TempDir()
	admin := herdctlRun{exe: exe, config: filepath.Join(dir, "admin", "config")}
	dave := herdctlRun{exe: exe, config: filepath.Join(dir, "dave", "config")}
	checksum := server.Checksum(s.CABundle())

	admin.fails(t, "checksum", herdtest.BootstrapPassword+"\n", "login", s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", strings.Repeat("0", 64))
	admin.fails(t, "not logged in", "", "clusters", "list")
	admin.ok(t, herdtest.BootstrapPassword+"\n", "login", s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", checksum)
	if info, err := os.Stat(admin.config); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("config %s: %v, mode %v; want 0600", admin.config, err, info.Mode().Perm())
	}

	out := admin.ok(t, "", "clusters", "create", "prod", "--display-name", "Production")
	if !strings.Contains(out, "kubectl apply -f") {
		t.Errorf("clusters create printed no import command:\n%s", out)
	}
	var clusters herdapi.ClusterList
	if err := json.Unmarshal([]byte(admin.ok(t, "", "clusters", "list", "-o", "json")), &clusters); err != nil || len(clusters.Items) != 1 || clusters.Items[0].Name != "prod" {
		t.Errorf("clusters list -o json: %+v %v", clusters, err)
	}
	if cmd := admin.ok(t, "", "clusters", "import-command", "prod"); !strings.Contains(cmd, "/v1/import/crt-") {
		t.Errorf("import-command printed %q", cmd)
	}
	admin.fails(t, "not found", "", "clusters", "delete", "nosuch")
	admin.ok(t, "", "clusters", "delete", "prod")

	admin.ok(t, "dave-password-1234\n", "users", "create", "dave", "--password-stdin")
	if out := admin.ok(t, "", "users", "list"); !strings.Contains(out, "dave") || !strings.Contains(out, "USERNAME") {
		t.Errorf("users list is not a table with dave:\n%s", out)
	}
	admin.fails(t, "already exists", "other-password-1234\n", "users", "create", "dave", "--password-stdin")
	admin.ok(t, "", "users", "disable", "dave")
	dave.fails(t, "wrong username or password", "dave-password-1234\n", "login", s.URL, "--username", "dave", "--password-stdin", "--ca-checksum", checksum)
	admin.ok(t, "", "users", "enable", "dave")
	admin.ok(t, "dave-new-password-99\n", "users", "set-password", "dave", "--password-stdin")
	dave.ok(t, "dave-new-password-99\n", "login", s.URL, "--username", "dave", "--password-stdin", "--ca-checksum", checksum)
	dave.fails(t, "forbidden", "", "users", "list")

	token := strings.TrimSpace(dave.ok(t, "", "tokens", "create", "--kind", "kubeconfig", "--description", "ci"))
	name, _, _ := strings.Cut(token, ":")
	if out := dave.ok(t, "", "tokens", "list", "-o", "yaml"); !strings.Contains(out, name) {
		t.Errorf("tokens list does not show %s:\n%s", name, out)
	}
	dave.ok(t, "", "tokens", "revoke", name)
	code, _ := s.Do(t, "GET", "/v1/me", token, nil)
	herdtest.Expect(t, "a token revoked with herdctl", code, nil, 401)

	dave.ok(t, "", "logout")
	dave.fails(t, "not logged in", "", "whoami")
	admin.fails(t, "output", "", "clusters", "list", "-o", "xml")
}
