package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// TestDemoTwice runs the README's main job (hack/demo.sh, what `make
// demo` runs once everything is built) twice, as a user would, in a home
// of its own: the second run reuses what runs and leaves one of each (one
// local cluster, one Herd server, one cluster in Herd, the same agent
// pods); `herd demo down` then ends and removes all of it.
func TestDemoTwice(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// A short home: a real node's kubelet puts unix sockets under it,
	// whose paths may not pass 108 bytes.
	home, err := os.MkdirTemp("", "hd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	port := strings.Split(freeAddr(t, "127.0.0.1"), ":")[1]
	herd := filepath.Join(root, "bin", "herd")
	env := append(os.Environ(), "HOME="+home, "HERD_DEMO_PORT="+port)
	// Go's caches stay where they are (they default to folders of HOME).
	for _, v := range []string{"GOPATH", "GOCACHE", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	run := func(timeout time.Duration, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, tail(string(out), 30))
		}
		return string(out)
	}
	down := func() string { return run(2*time.Minute, herd, "demo", "down") }
	t.Cleanup(func() {
		cmd := exec.Command(herd, "local-cluster", "delete", "demo") // in case down failed
		cmd.Env = env
		_ = cmd.Run()
		for _, pid := range herdtest.ProcessesMentioning(home) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// names is the first column of a table, without its header.
	names := func(table string) string {
		var out []string
		for i, line := range strings.Split(strings.TrimSpace(table), "\n") {
			if f := strings.Fields(line); i > 0 && len(f) > 0 {
				out = append(out, f[0])
			}
		}
		return strings.Join(out, " ")
	}
	state := func() string {
		clusters := names(run(time.Minute, herd, "local-cluster", "list"))
		kubectl := filepath.Join(root, "_output", "kube", currentVersion, "kubectl")
		pods := run(time.Minute, kubectl, "--kubeconfig", filepath.Join(home, ".herd", "local-clusters", "demo", "kubeconfig"),
			"-n", "herd-system", "get", "pods", "-o", "name")
		inHerd := names(run(time.Minute, "env", "HERDCONFIG="+filepath.Join(home, ".herd", "demo-server.herdctl-config"),
			filepath.Join(root, "bin", "herdctl"), "clusters", "list"))
		return fmt.Sprintf("local clusters: %s; clusters in Herd: %s; processes of the demo's home: %d; agent pods: %s",
			clusters, inHerd, len(herdtest.ProcessesMentioning(home)), strings.Join(strings.Fields(pods), " "))
	}
	first := run(15*time.Minute, "bash", "hack/demo.sh")
	if !strings.Contains(first, "kubectl through Herd:") {
		t.Fatalf("the first run did not get as far as kubectl through Herd:\n%s", tail(first, 20))
	}
	before := state()
	second := run(10*time.Minute, "bash", "hack/demo.sh")
	if !strings.Contains(second, "local cluster demo is already running") {
		t.Errorf("the second run did not reuse the running cluster:\n%s", tail(second, 20))
	}
	if after := state(); after != before {
		t.Errorf("the second run changed what runs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if !strings.HasPrefix(before, "local clusters: demo; clusters in Herd: demo;") {
		t.Errorf("want the demo cluster once locally and once in Herd: %s", before)
	}
	down()
	if left := herdtest.ProcessesMentioning(home); len(left) > 0 {
		t.Errorf("processes left after demo down: %v", left)
	}
	if entries, _ := os.ReadDir(filepath.Join(home, ".herd", "local-clusters")); len(entries) > 0 {
		t.Errorf("local clusters left after demo down: %v", entries)
	}
	down() // again: nothing to do, no error
}
