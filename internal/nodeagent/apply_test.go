package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
)

func TestWriteFilesStayInRoot(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(filepath.Dir(root), "escaped")
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"etc/kubelet.yaml", true},
		{"a/b/../c.txt", true},
		{"../escaped", false},
		{"/etc/passwd", false},
		{"a/../../escaped", false},
		{"", false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			err := writeFiles(root, []herdapi.PlanFile{{Path: tt.path, Content: []byte("x")}})
			if (err == nil) != tt.ok {
				t.Fatalf("writeFiles(%q): %v, want ok=%v", tt.path, err, tt.ok)
			}
			if tt.ok {
				fi, err := os.Stat(filepath.Join(root, tt.path))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want 0600", tt.path, err, fi.Mode())
				}
			}
		})
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("a file was written outside the root")
	}
}

func TestRunInstruction(t *testing.T) {
	root, versions := t.TempDir(), t.TempDir()
	for v, out := range map[string]string{"v1.37.2": "new", "v1.36.3": "old"} {
		if err := os.MkdirAll(filepath.Join(versions, v), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(versions, v, "kube-apiserver"), []byte("#!/bin/sh\necho "+out+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Root: root, BinDir: filepath.Join(versions, "v1.37.2"), VersionsDir: versions}
	t.Setenv("HERD_TOKEN", "crt-abcdefghij:the-node-agents-own")
	for _, tt := range []struct {
		name    string
		in      herdapi.PlanInstruction
		wantErr string
		out     string
	}{
		{"runs in the root with the machine's env", herdapi.PlanInstruction{Command: "sh", Args: []string{"-c", "pwd; echo $HERD_MACHINE_ROOT $X"}, Env: []string{"X=42"}},
			"", root + "\n" + root + " 42\n"},
		{"not the node agent's registration token", herdapi.PlanInstruction{Command: "sh", Args: []string{"-c", "echo token=$HERD_TOKEN"}},
			"", "token=\n"},
		{"failure", herdapi.PlanInstruction{Command: "sh", Args: []string{"-c", "echo broken >&2; exit 3"}}, "exit status 3", "broken\n"},
		{"timeout kills the whole group", herdapi.PlanInstruction{Command: "sh", Args: []string{"-c", "sleep 30 & sleep 30"}, TimeoutSeconds: 1}, "timed out after 1s", ""},
		{"no such command", herdapi.PlanInstruction{Command: "/nonexistent"}, "no such file", ""},
		{"a Kubernetes version's binaries come first", herdapi.PlanInstruction{Command: "kube-apiserver", Env: []string{herdapi.KubernetesVersionEnv + "=v1.36.3"}},
			"", "old\n"},
		{"a version not on the machine", herdapi.PlanInstruction{Command: "kube-apiserver", Env: []string{herdapi.KubernetesVersionEnv + "=v1.99.0"}},
			"Kubernetes v1.99.0 is not on this machine", ""},
		{"not a version", herdapi.PlanInstruction{Command: "kube-apiserver", Env: []string{herdapi.KubernetesVersionEnv + "=../v1.36.3"}},
			"is not a Kubernetes version", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := runInstruction(context.Background(), root, versions, planEnv(cfg), tt.in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if out != tt.out {
				t.Errorf("output %q, want %q", out, tt.out)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s: the timeout did not end it", time.Since(start))
			}
		})
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 10}
	for _, s := range []string{"0123456789", "abc", "defghijklmnop"} {
		_, _ = b.Write([]byte(s))
	}
	if got := b.String(); got != "ghijklmnop" {
		t.Errorf("got %q, want the last 10 bytes", got)
	}
}
