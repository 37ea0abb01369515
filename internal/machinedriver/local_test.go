package machinedriver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeHerd is a stand-in for `herd node-agent` that records its arguments
// and environment and runs until it is killed.
func fakeHerd(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herd")
	script := "#!/bin/sh\necho \"$@\" > args\necho \"token=$HERD_TOKEN\" >> args\nwhile true; do sleep 1; done\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func newLocal(t *testing.T) *Local {
	l := &Local{Dir: filepath.Join(t.TempDir(), "machines"), Herd: fakeHerd(t), BinDir: "/kube",
		Server: func() string { return "https://127.0.0.1:1" }, CAChecksum: func() string { return "sum" }, Subnet: "127.0.9"}
	t.Cleanup(func() {
		for _, c := range []string{"a", "b"} {
			ms, _ := l.List(context.Background(), c)
			for _, m := range ms {
				_ = l.Delete(context.Background(), m)
			}
		}
	})
	return l
}

// TestLocal: machines get their own folder and the lowest free address,
// run their node agent with the roles and the registration token, are
// listed with their pool, roles and cluster UID, are started again when
// their node agent died, and are gone with their processes once deleted.
func TestLocal(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	one, err := l.Create(ctx, Request{Cluster: "a", ClusterUID: "uid-a", Pool: "cp", Hostname: "a-cp-1", Roles: []string{"etcd", "control-plane"}, Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	two, err := l.Create(ctx, Request{Cluster: "b", ClusterUID: "uid-b", Pool: "w", Hostname: "b-w-1", Roles: []string{"worker"}, Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	if one.Address != "127.0.9.1" || two.Address != "127.0.9.2" {
		t.Errorf("addresses %s and %s, want 127.0.9.1 and 127.0.9.2", one.Address, two.Address)
	}
	if _, err := l.Create(ctx, Request{Cluster: "a", Pool: "cp", Hostname: "a-cp-1", Token: "t"}); err == nil {
		t.Error("a second machine of the same name was made")
	}
	for _, bad := range []Request{{Cluster: "a", Hostname: "../x", Token: "t"}, {Cluster: "a", Hostname: "x"}} {
		if _, err := l.Create(ctx, bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
	args := waitFile(t, filepath.Join(l.Dir, "a", "a-cp-1", "args"))
	for _, want := range []string{"node-agent", "--roles etcd,control-plane", "--address 127.0.9.1", "--apiserver 127.0.9.1:6443", "--bin-dir /kube", "token=secret-token"} {
		if !strings.Contains(args, want) {
			t.Errorf("node agent run with %q, want %q in it", args, want)
		}
	}
	if args := waitFile(t, filepath.Join(l.Dir, "b", "b-w-1", "args")); strings.Contains(args, "--apiserver") {
		t.Errorf("a worker holds a fallback tunnel: %q", args)
	}

	list, err := l.List(ctx, "a")
	if err != nil || len(list) != 1 {
		t.Fatalf("list a: %+v %v", list, err)
	}
	got := list[0]
	if got.Pool != "cp" || got.ClusterUID != "uid-a" || !slices.Equal(got.Roles, []string{"etcd", "control-plane"}) || !got.Running {
		t.Errorf("listed %+v", got)
	}

	// The node agent dies: Ensure starts it again, without a token (the
	// machine has its credential by then).
	pid := l.pid(l.dir("a", "a-cp-1"))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the killed node agent seen as not running", func() bool { return l.pid(l.dir("a", "a-cp-1")) == 0 })
	if err := l.Ensure(ctx, got); err != nil {
		t.Fatal(err)
	}
	pid = l.pid(l.dir("a", "a-cp-1"))
	if pid == 0 {
		t.Fatal("Ensure did not start the node agent")
	}

	if err := l.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "a")); !os.IsNotExist(err) {
		t.Errorf("the cluster's folder is left: %v", err)
	}
	waitFor(t, "the node agent gone", func() bool { return syscall.Kill(pid, 0) != nil })
	again, err := l.Create(ctx, Request{Cluster: "a", Pool: "cp", Hostname: "a-cp-2", Token: "t"})
	if err != nil || again.Address != "127.0.9.1" {
		t.Errorf("the freed address is not taken again: %+v %v", again, err)
	}
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	var data []byte
	waitFor(t, path, func() bool {
		var err error
		data, err = os.ReadFile(path)
		return err == nil && strings.Contains(string(data), "token=")
	})
	return string(data)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLocalPIDFile: a pid counts only while the process that has it is
// the one started (same start time); a pid file of an older Herd (pid
// only) counts when the command line names the machine's root.
func TestLocalPIDFile(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	m, err := l.Create(ctx, Request{Cluster: "a", Pool: "cp", Hostname: "a-cp-1", Roles: []string{"worker"}, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	dir := l.dir(m.Cluster, m.Hostname)
	pid := l.pid(dir)
	if pid == 0 {
		t.Fatal("the started node agent is not seen")
	}
	waitFile(t, filepath.Join(dir, "args")) // the shell runs the script by now
	file := filepath.Join(dir, filePID)
	for _, c := range []struct {
		content string
		want    int
	}{
		{strconv.Itoa(pid) + "\n", pid},
		{strconv.Itoa(pid) + " 1\n", 0},
		{strconv.Itoa(os.Getpid()) + "\n", 0},
		{"", 0},
		{"x 1\n", 0},
	} {
		if err := os.WriteFile(file, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := l.pid(dir); got != c.want {
			t.Errorf("pid file %q: pid %d, want %d", c.content, got, c.want)
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
