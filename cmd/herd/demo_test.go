package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/machinedriver"
)

// TestMain lets a test run this binary as a stand-in `herd server`
// (HERD_TEST_FAKE_SERVER=1): it waits for SIGTERM, as the server does.
func TestMain(m *testing.M) {
	if os.Getenv("HERD_TEST_FAKE_SERVER") == "1" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		os.Stdout.WriteString("ready\n")
		<-sig
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDemoDown: `herd demo down` stops the server the demo started (and
// only a process that is that server), removes the demo's files, leaves
// others alone, and is fine to run again.
func TestDemoDown(t *testing.T) {
	home := t.TempDir()
	data := filepath.Join(home, "demo-server")
	if err := os.MkdirAll(filepath.Join(data, "management"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{data + ".log", data + ".herdctl-config", filepath.Join(home, "keep.txt")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	server := exec.Command(os.Args[0], "server", "--data-dir", data)
	server.Env = append(os.Environ(), "HERD_TEST_FAKE_SERVER=1")
	stdout, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the stand-in server said %q (%v)", line, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() { _ = server.Process.Kill() })
	if err := os.WriteFile(data+".pid", []byte(strconv.Itoa(server.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A pid file naming a process that is not the demo's server: untouched.
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	// A machine the server's local driver made outlives the server: demo
	// down ends it too.
	script := filepath.Join(home, "fake-herd")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile true; do sleep 1; done\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := &machinedriver.Local{Dir: filepath.Join(data, "machines"), Herd: script, Subnet: "127.0.12",
		Server: func() string { return "https://127.0.0.1:1" }, CAChecksum: func() string { return "x" }}
	machine, err := local.Create(context.Background(), machinedriver.Request{Cluster: "c", Pool: "p", Hostname: "c-p-1", Roles: []string{"worker"}, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	machineDir := filepath.Join(data, "machines", "c", "c-p-1")
	t.Cleanup(func() {
		for _, pid := range herdtest.ProcessesMentioning(machineDir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	m := &localcluster.Manager{Root: filepath.Join(home, "clusters")}
	var out bytes.Buffer
	if err := demoDown(context.Background(), &out, data, m); err != nil {
		t.Fatal(err)
	}
	if left := herdtest.ProcessesMentioning(machineDir); len(left) > 0 || !strings.Contains(out.String(), "deleted machine "+machine.Hostname) {
		t.Errorf("the server's machine: processes %v left, demo down said %q", left, out.String())
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server ended with %v, want a clean exit on SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server still runs after demo down")
	}
	for _, p := range []string{data, data + ".pid", data + ".log", data + ".herdctl-config"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "keep.txt")); err != nil {
		t.Errorf("a file that is not the demo's was removed: %v", err)
	}
	if !strings.Contains(out.String(), "stopped the herd server") || !strings.Contains(out.String(), "removed "+data+"\n") {
		t.Errorf("demo down said %q", out.String())
	}

	if err := os.WriteFile(data+".pid", []byte(strconv.Itoa(other.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := demoDown(context.Background(), &out, data, m); err != nil {
		t.Fatalf("demo down again: %v", err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("demo down stopped a process that is not the demo's server: %v", err)
	}
	if strings.Contains(out.String(), "stopped") {
		t.Errorf("demo down again said %q", out.String())
	}
}
