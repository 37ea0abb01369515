package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEtcdJoinJoinedBefore: a member whose data folder holds its member
// (a plan applied again) needs no running member to join through; a new
// one does, and fails when none answers.
func TestEtcdJoinJoinedBefore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String() // a member that went away
	_ = ln.Close()
	root := t.TempDir()
	out := filepath.Join(root, "etcd-initial-cluster")
	run := func(dataDir string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		cmd := newEtcdJoinCommand()
		var stdout bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetArgs([]string{"--endpoints=" + gone, "--name=m2", "--peer-url=http://127.0.9.2:2380", "--out=" + out, "--data-dir=" + dataDir})
		err := cmd.ExecuteContext(ctx)
		return stdout.String(), err
	}
	dataDir := filepath.Join(root, "etcd-data")
	if _, err := run(dataDir); err == nil {
		t.Fatal("a new member joined through an endpoint that does not answer")
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "member", "wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := run(dataDir); err == nil {
		t.Fatal("a member without the initial cluster it started with counted as joined")
	}
	if err := os.WriteFile(out, []byte("m1=http://127.0.9.1:2380,m2=http://127.0.9.2:2380"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, err := run(dataDir)
	if err != nil || !strings.Contains(stdout, "joined before") {
		t.Fatalf("a member that joined before: %v %q", err, stdout)
	}
	if data, _ := os.ReadFile(out); string(data) != "m1=http://127.0.9.1:2380,m2=http://127.0.9.2:2380" {
		t.Errorf("the initial cluster changed: %q", data)
	}
}
