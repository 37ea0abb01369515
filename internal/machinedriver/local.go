package machinedriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"herd.dev/herd/internal/certs"
)

// Local runs machines on this host: each is a folder under Dir,
// DIR/CLUSTER/HOSTNAME, holding the machine's root (root/), its address
// (address), its node agent's pid (pid) and log (node-agent.log), and a
// loopback address of its own, where its components listen, as on a host
// of their own.
//
// Machines outlive the server, as VMs would: the node agent runs in its
// own session, and a server that starts again finds its machines in Dir
// (Ensure starts a node agent that is not running). Delete stops the node
// agent (which stops what its plan runs) and removes the folder.
type Local struct {
	// Dir holds the machines.
	Dir string
	// Herd is the herd binary that machines run `herd node-agent` of.
	Herd string
	// BinDir holds the Kubernetes binaries for the machines' plans.
	BinDir string
	// Server and CAChecksum: where node agents register and apply plans
	// (read when a machine starts: the server may not listen yet when the
	// driver is made).
	Server, CAChecksum func() string
	// Subnet is the first three octets of the machines' addresses, in
	// 127/8 ("127.77.0"). Empty: "127.77.0".
	Subnet string
	// StopWithServer makes machines end with the process that started
	// them (tests, throwaway servers), instead of outliving it.
	StopWithServer bool
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger

	mu sync.Mutex // serializes address choice and start
}

const (
	fileAddress = "address"
	filePID     = "pid"
	fileLog     = "node-agent.log"
	dirRoot     = "root"
	fileMeta    = "machine"
	// stopGrace is how long a node agent has to stop its processes.
	stopGrace = 15 * time.Second
)

var _ Driver = (*Local)(nil)

func (l *Local) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

func (l *Local) subnet() string {
	if l.Subnet == "" {
		return "127.77.0"
	}
	return l.Subnet
}

func (l *Local) dir(cluster, hostname string) string {
	return filepath.Join(l.Dir, cluster, hostname)
}

// Create makes the machine's folder, chooses its address and starts its
// node agent.
func (l *Local) Create(ctx context.Context, req Request) (Machine, error) {
	if req.Cluster == "" || req.Hostname == "" || strings.ContainsAny(req.Cluster+req.Hostname, "/.") || req.Token == "" {
		return Machine{}, errors.New("machinedriver: a cluster, a hostname (no '/' or '.') and a registration token are required")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := l.dir(req.Cluster, req.Hostname)
	if _, err := os.Stat(dir); err == nil {
		return Machine{}, fmt.Errorf("machinedriver: machine %s of cluster %s exists", req.Hostname, req.Cluster)
	}
	addr, err := l.freeAddress()
	if err != nil {
		return Machine{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, dirRoot), 0o700); err != nil {
		return Machine{}, err
	}
	m := Machine{Cluster: req.Cluster, ClusterUID: req.ClusterUID, Pool: req.Pool, Hostname: req.Hostname, Roles: req.Roles, Address: addr}
	meta := strings.Join([]string{req.Pool, strings.Join(req.Roles, ","), req.ClusterUID}, "\n") + "\n"
	if err := errors.Join(
		certs.WriteFileAtomic(filepath.Join(dir, fileAddress), []byte(addr+"\n"), 0o600),
		certs.WriteFileAtomic(filepath.Join(dir, fileMeta), []byte(meta), 0o600),
	); err != nil {
		_ = os.RemoveAll(dir)
		return Machine{}, err
	}
	if err := l.start(m, req.Roles, req.Token); err != nil {
		_ = os.RemoveAll(dir)
		return Machine{}, err
	}
	m.Running = true
	l.log().Info("machine created", "cluster", m.Cluster, "pool", m.Pool, "machine", m.Hostname, "address", addr)
	return m, nil
}

// freeAddress is the lowest address of the subnet that no machine of Dir
// has and where nothing listens on the ports of a machine's components.
func (l *Local) freeAddress() (string, error) {
	taken := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(l.Dir, "*", "*", fileAddress))
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			taken[strings.TrimSpace(string(data))] = true
		}
	}
	for i := 1; i < 255; i++ {
		addr := l.subnet() + "." + strconv.Itoa(i)
		if !taken[addr] && unused(addr) {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%w in %s.0/24: delete machines of other clusters", ErrNoAddress, l.subnet())
}

// unused reports whether nothing listens on addr's etcd, kube-apiserver
// and kubelet ports (another server's machine, or a leftover).
func unused(addr string) bool {
	for _, port := range []string{"2379", "2380", "6443", "10250"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, port))
		if err != nil {
			return false
		}
		_ = ln.Close()
	}
	return true
}

// start runs the machine's node agent in a session of its own (it
// outlives the server), with token in its environment only.
func (l *Local) start(m Machine, roles []string, token string) error {
	dir := l.dir(m.Cluster, m.Hostname)
	logFile, err := os.OpenFile(filepath.Join(dir, fileLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"node-agent", "--server", l.Server(), "--ca-checksum", l.CAChecksum(),
		"--root", filepath.Join(dir, dirRoot), "--roles", strings.Join(roles, ","),
		"--hostname", m.Hostname, "--address", m.Address, "--bin-dir", l.BinDir, "--poll", "2s"}
	if slices.Contains(roles, "control-plane") {
		args = append(args, "--apiserver", net.JoinHostPort(m.Address, "6443"))
	}
	cmd := exec.Command(l.Herd, args...)
	cmd.Env = append(os.Environ(), "HERD_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if l.StopWithServer {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("machinedriver: start the node agent of %s: %w", m.Hostname, err)
	}
	pid := cmd.Process.Pid
	// Read before the child can be reaped: it is this process's child,
	// so its /proc entry stays until Wait.
	_, started, ok := procStat(pid)
	go func() { _ = cmd.Wait() }() // reap it while this process lives
	if !ok {
		return fmt.Errorf("machinedriver: the node agent of %s (pid %d) exited at once", m.Hostname, pid)
	}
	return certs.WriteFileAtomic(filepath.Join(dir, filePID), []byte(strconv.Itoa(pid)+" "+started+"\n"), 0o600)
}

// Ensure starts the node agent of m again if it does not run. The
// machine has its credential in its root by then: no token is needed.
func (l *Local) Ensure(_ context.Context, m Machine) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := l.dir(m.Cluster, m.Hostname)
	if l.pid(dir) > 0 {
		return nil
	}
	_, roles, _ := readMeta(dir)
	l.log().Warn("machine's node agent is not running: starting it again", "cluster", m.Cluster, "machine", m.Hostname)
	return l.start(m, roles, "")
}

// pid is the running node agent of the machine in dir, or 0. The pid
// file holds the pid and the process's start time (in clock ticks since
// boot), so a recycled pid of an unrelated process is never touched. A
// pid file of an older Herd holds the pid only: then the command line
// must name dir.
func (l *Local) pid(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, filePID))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return 0
	}
	state, started, ok := procStat(pid)
	if !ok || state == 'Z' { // gone, or exited and not yet reaped
		return 0
	}
	if len(fields) > 1 {
		if fields[1] != started {
			return 0
		}
		return pid
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Join(dir, dirRoot))) {
		return 0
	}
	return pid
}

// procStat is the state and the start time of process pid, from
// /proc/PID/stat. The start time is set at fork, so unlike the command
// line it is there the moment the process exists.
func procStat(pid int) (state byte, started string, ok bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", false
	}
	// The command name in parentheses may hold spaces: fields start after
	// the last ')'. Field 3 is the state, field 22 the start time.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, "", false
	}
	rest := strings.Fields(string(stat[i+1:]))
	if len(rest) < 20 || len(rest[0]) != 1 {
		return 0, "", false
	}
	return rest[0][0], rest[19], true
}

// Delete stops m's node agent (SIGTERM: it stops its plan's processes;
// SIGKILL after stopGrace) and removes its folder.
func (l *Local) Delete(ctx context.Context, m Machine) error {
	dir := l.dir(m.Cluster, m.Hostname)
	if pid := l.pid(dir); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(stopGrace)
		for l.pid(dir) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		if pid := l.pid(dir); pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // its session's group
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("machinedriver: remove machine %s: %w", m.Hostname, err)
	}
	_ = syscall.Rmdir(filepath.Join(l.Dir, m.Cluster)) // once empty
	l.log().Info("machine deleted", "cluster", m.Cluster, "machine", m.Hostname)
	return nil
}

// List lists the machines of cluster in Dir.
func (l *Local) List(_ context.Context, cluster string) ([]Machine, error) {
	entries, err := os.ReadDir(filepath.Join(l.Dir, cluster))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Machine
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := l.dir(cluster, e.Name())
		addr, _ := os.ReadFile(filepath.Join(dir, fileAddress))
		pool, roles, uid := readMeta(dir)
		out = append(out, Machine{Cluster: cluster, ClusterUID: uid, Pool: pool, Roles: roles, Hostname: e.Name(),
			Address: strings.TrimSpace(string(addr)), Running: l.pid(dir) > 0})
	}
	return out, nil
}

// Clusters lists the clusters that have machines in Dir.
func (l *Local) Clusters() ([]string, error) {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// readMeta reads the pool, roles and cluster UID a machine was made with.
func readMeta(dir string) (pool string, roles []string, uid string) {
	data, _ := os.ReadFile(filepath.Join(dir, fileMeta))
	lines := append(strings.Split(string(data), "\n"), "", "", "")
	if lines[1] != "" {
		roles = strings.Split(lines[1], ",")
	}
	return lines[0], roles, lines[2]
}
