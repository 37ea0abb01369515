package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/version"
	"herd.dev/herd/internal/wellknown"
)

// ErrMissingRuntime: a part that real nodes need (containerd, runc, the
// CNI plugins, iproute2) is not installed.
var ErrMissingRuntime = errors.New("localcluster: container runtime missing")

// Real nodes run what the cluster's pods really are: a kubelet built from
// the pinned Kubernetes, with a containerd of its own (Debian's, with
// runc) and a bridge for pods. No registry can be reached, so the images
// they run are imported from archives first, the sandbox image among
// them; every real node carries the taint NoRegistryTaint so that only
// pods that tolerate it (Herd's own, whose image is imported) land there,
// and a user's `kubectl create deployment --image=nginx` goes to the kwok
// nodes as before.
const (
	// NoRegistryTaint marks a node that cannot pull images: only the
	// images imported into it run there.
	NoRegistryTaint = wellknown.NoRegistryTaint
	// RealNodeLabel is "true" on real nodes.
	RealNodeLabel = "node.herd.dev/real"

	binKubelet = "kubelet"
	cniBinDir  = "/usr/lib/cni"
	// runRoot holds real nodes' sockets: unix socket paths are short.
	runRoot = "/run/herd-nodes"
)

// SandboxImage is the pod sandbox ("pause") image that real nodes'
// containerd is configured with, of this build's version; an imported
// archive must hold it (`make image` builds it).
func SandboxImage() string { return "herd/pause:" + version.Version }

// realNode is one kubelet with its containerd.
type realNode struct {
	cluster *Cluster
	name    string
	index   int
	dir     string // state under the cluster's Dir
	run     string // sockets and runc state
	log     *slog.Logger
	procs   []*process
}

func (c *Cluster) newRealNode(i int) *realNode {
	name := fmt.Sprintf("%s-real-%d", c.cfg.Name, i)
	return &realNode{cluster: c, name: name, index: i,
		dir: filepath.Join(c.cfg.Dir, "nodes", name),
		run: c.subnet.nodeRun(i),
		log: c.cfg.Logger.With("cluster", c.cfg.Name, "node", name)}
}

func (n *realNode) ip() string     { return n.cluster.subnet.nodeIP(n.index) }
func (n *realNode) socket() string { return filepath.Join(n.run, "containerd.sock") }

// CheckRuntime reports which part real nodes need is missing, and how to
// install it.
func CheckRuntime(binDir string) error {
	var missing []string
	for _, bin := range []string{"containerd", "ctr", "runc", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, plugin)); err != nil {
			missing = append(missing, filepath.Join(cniBinDir, plugin))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: real nodes need %s (Debian packages containerd, runc, containernetworking-plugins and iproute2): run hack/install-deps.sh", ErrMissingRuntime, strings.Join(missing, ", "))
	}
	if _, err := os.Stat(filepath.Join(binDir, binKubelet)); err != nil {
		return fmt.Errorf("%w: no kubelet in %s: run `make kube`", ErrBinary, binDir)
	}
	return nil
}

// start starts containerd, imports the images and starts the kubelet.
func (n *realNode) start(ctx context.Context) error {
	for _, d := range []string{n.dir, n.run, filepath.Join(n.dir, "cni"), filepath.Join(n.dir, "pod-logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	n.cleanup() // what a crashed run left
	if err := n.writeConfigs(); err != nil {
		return err
	}
	if err := n.startProcess("containerd", "containerd", "--config", filepath.Join(n.dir, "containerd.toml")); err != nil {
		return err
	}
	if err := n.cluster.poll(ctx, "waiting for containerd of node "+n.name, func(ctx context.Context) error {
		return n.ctr(ctx, "version")
	}); err != nil {
		return err
	}
	for _, archive := range n.cluster.cfg.Images {
		if err := n.ctr(ctx, "images", "import", "--no-unpack=false", archive); err != nil {
			return fmt.Errorf("failed to import %s into node %s: %w", archive, n.name, err)
		}
	}
	kubelet := filepath.Join(n.cluster.cfg.BinDir, binKubelet)
	return n.startProcess("kubelet", kubelet,
		"--config="+filepath.Join(n.dir, "kubelet.yaml"),
		"--kubeconfig="+filepath.Join(n.dir, "kubelet.kubeconfig"),
		"--root-dir="+filepath.Join(n.dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.dir, "kubelet-pki"),
		"--hostname-override="+n.name,
		"--node-ip="+n.ip(),
		"--node-labels="+RealNodeLabel+"=true",
	)
}

func (n *realNode) startProcess(what, bin string, args ...string) error {
	p, err := startProcess(n.cluster.cfg.Dir, n.name+"-"+what, bin, args, n.cluster.cfg.Logger)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	go func() {
		<-p.done
		n.cluster.fail(fmt.Errorf("%s of node %s exited (%v); the end of %s:\n%s", what, n.name, p.err, p.logPath, tail(p.logPath, 5)))
	}()
	return nil
}

// ctr runs containerd's own client against this node's containerd, in
// the namespace of Kubernetes' pods.
func (n *realNode) ctr(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args = append([]string{"--address", n.socket(), "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "ctr", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr %s: %v: %s", strings.Join(args[4:], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeConfigs writes containerd's, the CNI's and the kubelet's
// configuration and the kubelet's credentials (system:node:<name>).
func (n *realNode) writeConfigs() error {
	c := n.cluster
	files := map[string]string{
		"containerd.toml":      n.containerdConfig(),
		"cni/10-herd.conflist": n.cniConfig(),
		"kubelet.yaml":         n.kubeletConfig(),
	}
	for name, data := range files {
		if err := certs.WriteFileAtomic(filepath.Join(n.dir, name), []byte(data), 0o600); err != nil {
			return err
		}
	}
	if err := c.pki.ensureNode(n.name); err != nil {
		return err
	}
	return writeKubeconfig(filepath.Join(n.dir, "kubelet.kubeconfig"), c.cfg.Name, c.serverURL(), c.pki, nodeCert(n.name))
}

// containerdConfig is the node's containerd configuration: its own root,
// state and socket, the CRI with runc and the node's CNI.
func (n *realNode) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = %q
  stream_server_port = "0"
  enable_tls_streaming = false
  # Lowering an OOM score takes CAP_SYS_RESOURCE, which a machine may
  # withhold even from root (this one does): keep pods at containerd's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, filepath.Join(n.dir, "containerd"), filepath.Join(n.run, "state"), n.socket(), n.socket()+".ttrpc",
		SandboxImage(), n.ip(), filepath.Join(n.run, "runc"), cniBinDir, filepath.Join(n.dir, "cni"))
}

// cniConfig puts the node's pods on its bridge, in its pod range, with
// routes through the bridge's gateway (this host) to the cluster's Service
// range, where the kubernetes Service is served, and to its nodes'
// addresses: pods that are not on the host network (a Herd server
// installed with the Helm chart) reach the kube-apiserver in-cluster, and
// nothing beyond the cluster's own addresses.
func (n *realNode) cniConfig() string {
	s := n.cluster.subnet
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "herd",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "gateway": %q}]], "dataDir": %q,
              "routes": [{"dst": %q}, {"dst": %q}]}},
    {"type": "loopback"}
  ]
}
`, s.bridge(n.index), s.podCIDR(n.index), s.podGateway(n.index), filepath.Join(n.dir, "ipam"), s.serviceCIDR(), s.nodeCIDR())
}

// kubeletConfig is the kubelet's configuration: on the node's address,
// cgroups v1 without QoS cgroups, the no-registry taint.
func (n *realNode) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %q
port: 10250
readOnlyPort: 0
healthzBindAddress: %q
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %q}
authorization: {mode: Webhook}
containerRuntimeEndpoint: %q
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
podLogsDirectory: %q
resolvConf: /etc/resolv.conf
serializeImagePulls: false
registerWithTaints:
%sevictionHard: {"memory.available": "100Mi", "nodefs.available": "1%%", "imagefs.available": "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusReportFrequency: 10s
`, n.ip(), n.ip(), n.cluster.pki.crt(certCA), "unix://"+n.socket(), filepath.Join(n.dir, "pod-logs"), n.taintsYAML())
}

// taintsYAML lists the node's registerWithTaints, one per line.
func (n *realNode) taintsYAML() string {
	var b strings.Builder
	for _, t := range n.cluster.registerWithTaints(n.index) {
		fmt.Fprintf(&b, "- {key: %q, value: %q, effect: %s}\n", t.Key, t.Value, t.Effect)
	}
	return b.String()
}

// stop removes every pod through the CRI (so that the CNI and mounts are
// undone), stops the kubelet and containerd, and cleans up.
func (n *realNode) stop() {
	procs := n.procs
	n.procs = nil
	byName := func(what string) *process {
		for _, p := range procs {
			if strings.HasSuffix(p.name, "-"+what) {
				return p
			}
		}
		return nil
	}
	if k := byName("kubelet"); k != nil {
		k.stop(10 * time.Second)
	}
	if ctd := byName("containerd"); ctd != nil {
		if !ctd.exited() {
			if err := n.removePods(); err != nil {
				n.log.Warn("failed to remove pods through the CRI; killing them", "err", err)
			}
		}
		ctd.stop(10 * time.Second)
	}
	n.cleanup()
}

// removePods stops and removes every pod sandbox of this node's containerd.
func (n *realNode) removePods() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+n.socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	var errs []error
	for _, sb := range list.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanup kills what outlived containerd (its shims and their
// containers), and unmounts and removes what the node mounted.
func (n *realNode) cleanup() {
	var killed []int
	for _, pid := range processesMentioning(n.socket()) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		killed = append(killed, pid)
	}
	runcRoot := filepath.Join(n.run, "runc")
	if entries, err := os.ReadDir(runcRoot); err == nil {
		for _, ns := range entries {
			out, _ := exec.Command("runc", "--root", filepath.Join(runcRoot, ns.Name()), "list", "-q").Output()
			for id := range strings.FieldsSeq(string(out)) {
				_ = exec.Command("runc", "--root", filepath.Join(runcRoot, ns.Name()), "kill", "--all", id, "KILL").Run()
				_ = exec.Command("runc", "--root", filepath.Join(runcRoot, ns.Name()), "delete", "--force", id).Run()
			}
		}
	}
	if len(killed) > 0 {
		n.log.Warn("killed container processes left behind", "pids", killed)
	}
	if err := unmountUnder(n.dir, n.run); err != nil {
		n.log.Warn("failed to unmount", "err", err)
	}
	_ = os.RemoveAll(n.run)
}

// processesMentioning lists the processes whose command line holds s.
func processesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && processMentions(pid, s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder unmounts every mount point under the given directories,
// deepest first.
func unmountUnder(dirs ...string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if slices.ContainsFunc(dirs, func(d string) bool { return p == d || strings.HasPrefix(p, d+"/") }) {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// reserveSubnet takes the real nodes' address block, if there are any,
// and records it in st.
func (c *Cluster) reserveSubnet(st *state) error {
	if c.cfg.RealNodes == 0 {
		st.Subnet = 0
		return nil
	}
	if err := CheckRuntime(c.cfg.BinDir); err != nil {
		return err
	}
	s, err := reserveSubnet(context.Background(), c.cfg.Dir, st.Subnet, c.cfg.RealNodes)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.subnet = s
	c.mu.Unlock()
	st.Subnet = s.K
	return nil
}

// startRealNodes serves the kubernetes Service and starts the real nodes,
// one after another (each imports the images).
func (c *Cluster) startRealNodes(ctx context.Context) error {
	if c.cfg.RealNodes == 0 {
		return nil
	}
	fwd, err := startServiceForwarder(c.subnet.serviceIP()+":443", fmt.Sprintf("127.0.0.1:%d", c.ports.APIServer))
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.forwarder = fwd
	c.mu.Unlock()
	for i := range c.cfg.RealNodes {
		n := c.newRealNode(i)
		c.mu.Lock()
		c.nodes = append(c.nodes, n)
		c.mu.Unlock()
		if err := n.start(ctx); err != nil {
			return fmt.Errorf("node %s: %w", n.name, err)
		}
	}
	return nil
}

// RealNodeNames lists the real nodes' names.
func (c *Cluster) RealNodeNames() []string {
	var names []string
	for i := range c.cfg.RealNodes {
		names = append(names, fmt.Sprintf("%s-real-%d", c.cfg.Name, i))
	}
	return names
}
