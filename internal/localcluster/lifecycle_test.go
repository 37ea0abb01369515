package localcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

func portListening(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// assertGone fails unless no process of dir runs and no port listens.
func assertGone(t *testing.T, dir string, pids, ports []int) {
	t.Helper()
	if left := herdtest.ProcessesMentioning(dir); len(left) > 0 {
		t.Errorf("processes still running after stop: %v", left)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("component pid %d still exists after stop (kill 0: %v)", pid, err)
		}
	}
	for _, p := range ports {
		if portListening(p) {
			t.Errorf("port %d still listening after stop", p)
		}
	}
}

// TestStopRestart stops a cluster, checks that nothing is left, and starts
// it again on the same state: same objects, same address; a process that a
// crashed earlier run left behind is cleaned up.
func TestStopRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gamma")
	start := func() *localcluster.Cluster {
		c, err := localcluster.New(localcluster.Config{Name: "gamma", Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := start()
	k := kubectlFor(c)
	k.Run(t, "create", "configmap", "kept", "--from-literal=answer=42")
	server, webhook, pids, ports := c.ServerURL(), c.AuthWebhookListen(), c.PIDs(), c.Ports()
	if len(pids) != 4 || len(ports) != 4 {
		t.Fatalf("got pids %v and ports %v, want 4 of each", pids, ports)
	}
	c.Stop()
	assertGone(t, dir, pids, ports)

	orphan := exec.Command("sh", "-c", "sleep 300; : "+dir)
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = orphan.Process.Kill(); _, _ = orphan.Process.Wait() })
	if err := os.WriteFile(filepath.Join(dir, "run", "kwok.pid"), []byte(strconv.Itoa(orphan.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	orphanDone := make(chan struct{})
	go func() { _, _ = orphan.Process.Wait(); close(orphanDone) }()

	c = start()
	select {
	case <-orphanDone:
	case <-time.After(5 * time.Second):
		t.Error("the process left by an earlier run was not killed at start")
	}
	if got := c.ServerURL(); got != server {
		t.Errorf("server after restart: got %s, want %s", got, server)
	}
	if got := c.AuthWebhookListen(); got != webhook {
		t.Errorf("auth webhook address after restart: got %s, want %s", got, webhook)
	}
	if got := kubectlFor(c).Run(t, "get", "configmap", "kept", "-o", "jsonpath={.data.answer}"); got != "42" {
		t.Errorf("configmap after restart: got %q, want 42", got)
	}
}

// TestBadInput checks that wrong configurations fail fast with an error
// that says what to do, and leave nothing running and nothing lost.
func TestBadInput(t *testing.T) {
	alpha := clusters.Get("alpha")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	wrongBin := t.TempDir()
	for name, out := range map[string]string{
		"kube-apiserver": "Kubernetes v1.30.0", "kube-controller-manager": "Kubernetes v1.30.0",
		"kube-scheduler": "Kubernetes v1.30.0", "kwok": "kwok version v0.8.0",
	} {
		script := fmt.Sprintf("#!/bin/sh\necho '%s'\n", out)
		if err := os.WriteFile(filepath.Join(wrongBin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(wrongBin, "kwok-stages.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cfg     localcluster.Config
		wantErr error
		wantMsg string
	}{
		{"invalid name", localcluster.Config{Name: "Bad_Name", Dir: t.TempDir()}, localcluster.ErrInvalidConfig, "lowercase"},
		{"relative dir", localcluster.Config{Name: "x", Dir: "rel/dir"}, localcluster.ErrInvalidConfig, "--state-dir"},
		{"missing binaries", localcluster.Config{Name: "x", Dir: t.TempDir(), BinDir: t.TempDir()}, localcluster.ErrBinary, "make kube"},
		{"wrong version", localcluster.Config{Name: "x", Dir: t.TempDir(), BinDir: wrongBin}, localcluster.ErrBinary, "want Kubernetes v1.37.2"},
		{"port in use", localcluster.Config{Name: "x", Dir: t.TempDir(), APIServerPort: busyPort}, localcluster.ErrPortInUse, "choose another --port"},
		{"foreign state dir", localcluster.Config{Name: "x", Dir: foreign}, localcluster.ErrForeignDir, "choose another --state-dir"},
		{"dir of another cluster", localcluster.Config{Name: "other", Dir: alpha.Dir()}, localcluster.ErrForeignDir, `belongs to local cluster "alpha"`},
		{"cluster already running", localcluster.Config{Name: "alpha", Dir: alpha.Dir()}, localcluster.ErrRunning, "another process holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := localcluster.New(tt.cfg)
			if err == nil {
				t.Cleanup(c.Stop)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = c.Start(ctx)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if tt.cfg.Dir != alpha.Dir() && filepath.IsAbs(tt.cfg.Dir) {
				if left := herdtest.ProcessesMentioning(tt.cfg.Dir); len(left) > 0 {
					t.Errorf("processes left running: %v", left)
				}
			}
		})
	}
	if data, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(data) != "mine" {
		t.Errorf("foreign dir content changed: %q, %v", data, err)
	}
	if got := kubectlFor(alpha).Run(t, "get", "namespace", "default", "-o", "name"); got != "namespace/default\n" {
		t.Errorf("alpha after the failed starts on its dir: got %q", got)
	}
}
