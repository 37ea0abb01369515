package localcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/version"
	"herd.dev/herd/internal/wellknown"
)

// podsYAML are two pods of Herd's image on the real node: one in the
// host's network, one on the node's pod bridge; both serve probes.
var podsYAML = fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: host-net}
spec:
  hostNetwork: true
  tolerations: [{key: %[1]s, operator: Exists}]
  nodeSelector: {%[3]s: "true"}
  containers:
  - name: node-agent
    image: herd/herd:%[2]s
    args: ["node-agent", "--health-addr=$(POD_IP):19446"]
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    securityContext: {runAsUser: 65532, runAsNonRoot: true, readOnlyRootFilesystem: true}
    readinessProbe: {httpGet: {path: /readyz, port: 19446}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: bridged}
spec:
  tolerations: [{key: %[1]s, operator: Exists}]
  nodeSelector: {%[3]s: "true"}
  containers:
  - name: node-agent
    image: herd/herd:%[2]s
    args: ["node-agent", "--health-addr=$(POD_IP):9446"]
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    readinessProbe: {httpGet: {path: /readyz, port: 9446}, periodSeconds: 1}
`, wellknown.NoRegistryTaint, version.Version, localcluster.RealNodeLabel)

// TestRealNode starts a cluster with a real node beside its kwok node,
// runs Herd's image there (in the host's network and on the pod bridge),
// reaches the pods with exec and logs, checks that a user's deployment of
// an image no node can pull still lands on the kwok node, and that
// stopping leaves no process, mount, link or socket behind.
func TestRealNode(t *testing.T) {
	archive := herdtest.ImageArchive(t)
	dir := filepath.Join(t.TempDir(), "delta")
	c, err := localcluster.New(localcluster.Config{Name: "delta", Dir: dir, RealNodes: 1, Images: []string{archive}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	k := kubectlFor(c)
	node := c.RealNodeNames()[0]
	got := k.Run(t, "get", "node", node, "-o",
		`jsonpath={.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion} {.spec.taints[0].key} {.metadata.labels.node\.herd\.dev/real} {.status.addresses[0].address}`)
	f := strings.Fields(got)
	if len(f) != 5 || f[0] != localcluster.KubernetesVersion || !strings.HasPrefix(f[1], "containerd://") || f[2] != wellknown.NoRegistryTaint || f[3] != "true" {
		t.Fatalf("real node: got %q, want kubelet %s, containerd, taint %s, label", got, localcluster.KubernetesVersion, wellknown.NoRegistryTaint)
	}
	nodeIP := f[4]

	k.Run(t, "apply", "-f", writeFile(t, "pods.yaml", podsYAML))
	k.Run(t, "wait", "--for=condition=Ready", "pod/host-net", "pod/bridged", "--timeout=90s")
	ips := k.Run(t, "get", "pods", "host-net", "bridged", "-o", "jsonpath={.items[*].status.podIP}")
	if f := strings.Fields(ips); len(f) != 2 || f[0] != nodeIP || f[1] == nodeIP || !strings.HasPrefix(f[1], "10.215.") {
		t.Errorf("pod IPs %q: want the node's %s, then one from the pod bridge", ips, nodeIP)
	}
	if out := k.Run(t, "exec", "bridged", "--", "/usr/local/bin/herdctl", "--help"); !strings.Contains(out, "herdctl manages a Herd server") {
		t.Errorf("exec into the pod: %q", out)
	}
	if out := k.Run(t, "logs", "host-net"); !strings.Contains(out, "no plan for this node") {
		t.Errorf("logs of the pod: %q", out)
	}

	k.Run(t, "create", "deployment", "web", "--image=nginx", "--replicas=2")
	k.Run(t, "rollout", "status", "deployment/web", "--timeout=60s")
	if on := k.Run(t, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}"); strings.Contains(on, node) || on == "" {
		t.Errorf("nginx pods run on %q, want only kwok nodes", on)
	}

	subnet := strings.Split(nodeIP, ".")[2]
	link, run := "herd"+subnet, "/run/herd-nodes/k"+subnet+"n0"
	if _, err := net.InterfaceByName(link); err != nil {
		t.Fatalf("link %s of the real node: %v", link, err)
	}
	c.Stop()
	assertNothingLeft(t, dir, link, run)
}

// assertNothingLeft fails if any process, mount, link or run directory
// of a cluster with real nodes is left.
func assertNothingLeft(t *testing.T, dir, link, run string) {
	t.Helper()
	for _, s := range []string{dir, run} {
		if s == "" {
			continue
		}
		if left := herdtest.ProcessesMentioning(s); len(left) > 0 {
			t.Errorf("processes mentioning %s left: %v", s, left)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mounts)) {
		if strings.Contains(line, dir) || run != "" && strings.Contains(line, run) {
			t.Errorf("mount left: %s", line)
		}
	}
	if link == "" {
		return
	}
	if _, err := net.InterfaceByName(link); err == nil {
		t.Errorf("link %s left", link)
	}
	if _, err := os.Stat(run); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left (%v)", run, err)
	}
}

func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRealNodeBadInput: real nodes without images, too many of them, or
// without the runtime they need fail at once with what to do.
func TestRealNodeBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  localcluster.Config
		want string
	}{
		{"no images", localcluster.Config{Name: "x", Dir: t.TempDir(), RealNodes: 1}, "make image"},
		{"missing archive", localcluster.Config{Name: "x", Dir: t.TempDir(), RealNodes: 1, Images: []string{"/nonexistent.tar"}}, "make image"},
		{"too many", localcluster.Config{Name: "x", Dir: t.TempDir(), RealNodes: 9, Images: []string{"/nonexistent.tar"}}, "between 0 and 8"},
		{"control-plane node without real nodes", localcluster.Config{Name: "x", Dir: t.TempDir(), ControlPlaneNode: true}, "--real-nodes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := localcluster.New(tt.cfg)
			if !errors.Is(err, localcluster.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
	}
	t.Run("no containerd", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := localcluster.CheckRuntime(localcluster.DefaultBinDir())
		if !errors.Is(err, localcluster.ErrMissingRuntime) || !strings.Contains(err.Error(), "containerd") || !strings.Contains(err.Error(), "hack/install-deps.sh") {
			t.Errorf("got %v, want ErrMissingRuntime naming containerd and hack/install-deps.sh", err)
		}
	})
	t.Run("start without containerd leaves nothing", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "empty.tar")
		if err := os.WriteFile(archive, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "x")
		c, err := localcluster.New(localcluster.Config{Name: "x", Dir: dir, RealNodes: 1, Images: []string{archive}})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", t.TempDir())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Start(ctx); !errors.Is(err, localcluster.ErrMissingRuntime) {
			t.Fatalf("got %v, want ErrMissingRuntime", err)
		}
		if left := herdtest.ProcessesMentioning(dir); len(left) > 0 {
			t.Errorf("processes left: %v", left)
		}
	})
}

// TestRealNodeKubeletFails: an archive that is not one of images, or a
// kubelet that cannot start, fails the cluster's start with what went
// wrong (the kubelet's own words), and leaves nothing behind.
func TestRealNodeKubeletFails(t *testing.T) {
	bin := t.TempDir()
	real := localcluster.DefaultBinDir()
	entries, err := os.ReadDir(real)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "kubelet" {
			if err := os.Symlink(filepath.Join(real, e.Name()), filepath.Join(bin, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	script := "#!/bin/sh\necho 'E1129 run.go:72] \"command failed\" err=\"failed to run Kubelet: listen tcp 10.213.0.10:10250: bind: address already in use\"' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "kubelet"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.tar")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, archive string
		want          []string
	}{
		{"not an image archive", empty, []string{"failed to import " + empty, "unrecognized image format"}},
		{"kubelet fails", herdtest.ImageArchive(t), []string{"kubelet of node broken-real-0 exited", "address already in use"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "broken")
			c, err := localcluster.New(localcluster.Config{Name: "broken", Dir: dir, BinDir: bin, RealNodes: 1, Images: []string{tt.archive}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Stop)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = c.Start(ctx)
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, want it to say %q", err, want)
				}
			}
			assertNothingLeft(t, dir, "", "")
			owners, _ := filepath.Glob("/run/herd-nodes/k*.owner")
			for _, o := range owners {
				if data, _ := os.ReadFile(o); string(data) == dir {
					t.Errorf("the address block %s of the failed cluster is still taken", o)
				}
			}
		})
	}
}

// BenchmarkRealNode starts a cluster with one real node (its kubelet
// Ready, Herd's image imported) and runs one pod of Herd's image there;
// it reports the time to a Ready node, to a Ready pod, and the resident
// memory of the node's kubelet, containerd and shim 15 s later.
func BenchmarkRealNode(b *testing.B) {
	archive, err := herdtest.BuildImageArchive(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var toPod time.Duration
	var kubelet, containerd, shims float64
	b.ResetTimer()
	for i := range b.N {
		dir := filepath.Join(b.TempDir(), fmt.Sprintf("bench%d", i))
		c, err := localcluster.New(localcluster.Config{Name: "bench", Dir: dir, RealNodes: 1, Images: []string{archive}})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		k := kubectlFor(c)
		k.Run(b, "apply", "-f", writeFile(b, "pods.yaml", strings.SplitN(podsYAML, "---", 2)[0]))
		k.Run(b, "wait", "--for=condition=Ready", "pod/host-net", "--timeout=90s")
		toPod += time.Since(start)
		b.StopTimer()
		time.Sleep(15 * time.Second)
		node := filepath.Join(dir, "nodes", "bench-real-0")
		kubelet += rssMiB(b, herdtest.ProcessesMentioning(filepath.Join(node, "kubelet.yaml"))...)
		containerd += rssMiB(b, herdtest.ProcessesMentioning(filepath.Join(node, "containerd.toml"))...)
		shims += rssMiB(b, herdtest.ProcessesMentioning("/run/herd-nodes/")...)
		c.Stop()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(toPod.Seconds()/n, "s-to-pod-ready")
	b.ReportMetric(kubelet/n, "MiB-kubelet")
	b.ReportMetric(containerd/n, "MiB-containerd")
	b.ReportMetric(shims/n, "MiB-shims")
}

// rssMiB sums VmRSS of pids.
func rssMiB(b *testing.B, pids ...int) float64 {
	var kib float64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				v, _ := strconv.ParseFloat(f[1], 64)
				kib += v
			}
		}
	}
	return kib / 1024
}
