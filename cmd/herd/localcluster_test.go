package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// buildHerd builds this command into a temporary folder.
func buildHerd(t *testing.T) string { return herdtest.Build(t, ".", "herd") }

type herdCLI struct {
	exe, stateDir string
}

func (h herdCLI) run(args ...string) (string, error) {
	cmd := exec.Command(h.exe, append(append([]string{"local-cluster"}, args...), "--state-dir", h.stateDir)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLocalClusterCLI drives `herd local-cluster` as a person would.
func TestLocalClusterCLI(t *testing.T) {
	h := herdCLI{exe: buildHerd(t), stateDir: t.TempDir()}
	t.Cleanup(func() { _, _ = h.run("delete", "cli") })

	out, err := h.run("create", "cli", "--nodes", "2")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if !strings.Contains(out, "is running at https://127.0.0.1:") {
		t.Errorf("create output %q does not say where the cluster runs", out)
	}

	out, err = h.run("list")
	if err != nil || !regexpMatch(`(?m)^cli\s+running\s+https://127\.0\.0\.1:\d+`, out) {
		t.Errorf("list: %v\n%s", err, out)
	}

	out, err = h.run("create", "cli")
	if err == nil || !strings.Contains(out, `"cli" is running`) || !strings.Contains(out, "delete cli") {
		t.Errorf("create of a taken name: err=%v, output %q; want an error that says it runs and how to delete it", err, out)
	}

	kubeconfig, err := h.run("kubeconfig", "cli")
	if err != nil {
		t.Fatalf("kubeconfig: %v\n%s", err, kubeconfig)
	}
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kcPath, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := herdtest.Kubectl{Kubeconfig: kcPath}.Run(t, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}")
	if nodes != "cli-node-0 cli-node-1" {
		t.Errorf("nodes: got %q, want cli-node-0 cli-node-1", nodes)
	}

	clusterDir := filepath.Join(h.stateDir, "cli")
	if out, err := h.run("delete", "cli"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := os.Stat(clusterDir); !os.IsNotExist(err) {
		t.Errorf("state %s still there after delete (%v)", clusterDir, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(herdtest.ProcessesMentioning(clusterDir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := herdtest.ProcessesMentioning(clusterDir); len(left) > 0 {
		t.Errorf("processes left after delete: %v", left)
	}
	out, _ = h.run("list")
	if strings.Contains(out, "cli") {
		t.Errorf("list after delete still shows the cluster:\n%s", out)
	}
}

func TestLocalClusterCLIBadInput(t *testing.T) {
	h := herdCLI{exe: buildHerd(t), stateDir: t.TempDir()}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid name", []string{"create", "Bad_Name"}, "lowercase letters"},
		{"zero nodes", []string{"create", "x", "--nodes", "0"}, "--nodes 0"},
		{"bad port", []string{"create", "x", "--port", "70000"}, "--port 70000"},
		{"delete unknown", []string{"delete", "nosuch"}, "no such cluster"},
		{"kubeconfig unknown", []string{"kubeconfig", "nosuch"}, "no such cluster"},
		{"start unknown", []string{"start", "nosuch"}, "create it with"},
		{"missing name", []string{"create"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.run(tt.args...)
			if err == nil {
				t.Fatalf("herd local-cluster %v succeeded, want an error", tt.args)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q does not say %q", out, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(h.stateDir); len(entries) != 0 {
		t.Errorf("bad input left state behind: %v", entries)
	}
}
