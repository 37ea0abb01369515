package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Manager keeps named local clusters as detached processes under one root
// folder, for `herd local-cluster`. Each cluster runs in its own supervisor
// process (Exe local-cluster run NAME), which holds etcd in-process and the
// other components as children, and outlives the command that created it.
type Manager struct {
	// Root holds one folder per cluster. Required.
	Root string
	// Exe is the herd executable that runs a cluster's supervisor. Empty:
	// this process's own executable.
	Exe string
	// BinDir is passed on to each cluster. Empty: DefaultBinDir().
	BinDir string
	// StopWithParent ends each cluster's supervisor with the process that
	// started it (tests), instead of letting it outlive it.
	StopWithParent bool
	// Logger. Nil: discard.
	Logger *slog.Logger
}

// Options of a cluster that Create or Serve starts.
type Options struct {
	// Nodes is the number of fake nodes. Zero: 1.
	Nodes int
	// Port is the API server port. Zero: any free one.
	Port int
	// Timeout bounds the start. Zero: 2 minutes.
	Timeout time.Duration
	// RealNodes and Images: see Config.
	RealNodes        int
	ControlPlaneNode bool
	Images           []string
}

// Info describes one cluster of a Manager.
type Info struct {
	Name       string
	Dir        string
	Running    bool
	Server     string
	Kubeconfig string
	CreatedAt  time.Time
}

const (
	readyFile      = "ready"
	supervisorPID  = "supervisor.pid"
	supervisorLog  = "supervisor.log"
	defaultTimeout = 2 * time.Minute
)

// DefaultRoot is ~/.herd/local-clusters.
func DefaultRoot() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".herd", "local-clusters")
}

func (m *Manager) log() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

func (m *Manager) dir(name string) string { return filepath.Join(m.Root, name) }

// lookup checks name and returns its folder and state (nil if none).
func (m *Manager) lookup(name string) (string, *state, error) {
	if err := ValidateName(name); err != nil {
		return "", nil, err
	}
	dir := m.dir(name)
	st, err := readState(dir)
	return dir, st, err
}

// Create starts a new cluster in the background and returns once it is
// usable. A name that is taken is an error; a failed start leaves nothing
// behind.
func (m *Manager) Create(ctx context.Context, name string, opts Options) (*Info, error) {
	dir, st, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if st != nil {
		how := "is stopped: start it with `herd local-cluster start " + name + "`"
		if locked(dir) {
			how = "is running: use it"
		}
		return nil, fmt.Errorf("%w: local cluster %q %s, or delete it with `herd local-cluster delete %s`", ErrExists, name, how, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	// Mark the folder as this cluster's before anything else goes in it.
	if err := writeState(dir, &state{Kind: stateKind, Name: name, Version: KubernetesVersion, CreatedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	info, err := m.launch(ctx, name, opts)
	if err != nil {
		_ = os.RemoveAll(dir)
	}
	return info, err
}

// Start starts an existing, stopped cluster again with the state it had.
func (m *Manager) Start(ctx context.Context, name string, opts Options) (*Info, error) {
	dir, st, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: %q (create it with `herd local-cluster create %s`)", ErrNotFound, name, name)
	}
	if locked(dir) {
		return nil, fmt.Errorf("%w: local cluster %q", ErrRunning, name)
	}
	return m.launch(ctx, name, opts)
}

func (m *Manager) launch(ctx context.Context, name string, opts Options) (*Info, error) {
	bin := m.BinDir
	if bin == "" {
		bin = DefaultBinDir()
	}
	if err := CheckBinaries(ctx, bin); err != nil {
		return nil, err
	}
	exe := m.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	dir := m.dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	_ = os.Remove(filepath.Join(dir, readyFile))
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	logPath := filepath.Join(dir, supervisorLog)
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(exe, "local-cluster", "run", name,
		"--state-dir", m.Root, "--bin-dir", bin,
		"--nodes", strconv.Itoa(max(opts.Nodes, 1)), "--port", strconv.Itoa(opts.Port),
		"--timeout", timeout.String(), "--real-nodes", strconv.Itoa(opts.RealNodes))
	if opts.ControlPlaneNode {
		cmd.Args = append(cmd.Args, "--control-plane-node")
	}
	for _, img := range opts.Images {
		abs, err := filepath.Abs(img)
		if err != nil {
			return nil, err
		}
		cmd.Args = append(cmd.Args, "--image-archive", abs)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if m.StopWithParent {
		// SIGTERM: the supervisor stops its cluster, real nodes included.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the supervisor of %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	_ = os.WriteFile(filepath.Join(dir, supervisorPID), []byte(strconv.Itoa(pid)+"\n"), 0o600)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("local cluster %s did not start (%v): %s", name, err, tail(logPath, 5))
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
			return nil, fmt.Errorf("local cluster %s did not start in time: %s", name, tail(logPath, 5))
		case <-t.C:
			if exists(filepath.Join(dir, readyFile)) {
				_ = cmd.Process.Release()
				return m.info(name)
			}
		}
	}
}

// Serve runs cluster name in this process until ctx ends; it is what the
// supervisor process runs. It marks the cluster ready once it is usable.
func (m *Manager) Serve(ctx context.Context, name string, opts Options) error {
	c, err := New(Config{
		Name:             name,
		Dir:              m.dir(name),
		BinDir:           m.BinDir,
		Nodes:            DefaultNodes(name, max(opts.Nodes, 1)),
		APIServerPort:    opts.Port,
		StartTimeout:     opts.Timeout,
		RealNodes:        opts.RealNodes,
		ControlPlaneNode: opts.ControlPlaneNode,
		Images:           opts.Images,
		Logger:           m.Logger,
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer c.Stop()
	ready := filepath.Join(c.Dir(), readyFile)
	if err := os.WriteFile(ready, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(ready)
	select {
	case <-ctx.Done():
		m.log().Info("stopping local cluster", "cluster", name)
		return nil
	case <-c.Failed():
		return c.Err()
	}
}

// Delete stops cluster name if it runs and removes all of its state.
func (m *Manager) Delete(ctx context.Context, name string) error {
	dir, st, err := m.lookup(name)
	if err != nil {
		return err
	}
	if st == nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return os.Remove(dir) // an empty folder left by a failed create
		}
		return fmt.Errorf("%w: %q (see `herd local-cluster list`)", ErrNotFound, name)
	}
	if err := m.stop(ctx, dir); err != nil {
		return err
	}
	// What real nodes of a supervisor that was killed left: containers,
	// mounts, links.
	sweepSubnets(ctx)
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("failed to unmount what local cluster %s left in %s: %w", name, dir, err)
	}
	return os.RemoveAll(dir)
}

// stop ends the supervisor of dir: SIGTERM, then SIGKILL after 30 s.
func (m *Manager) stop(ctx context.Context, dir string) error {
	if !locked(dir) {
		killOrphans(dir)
		return nil
	}
	data, _ := os.ReadFile(filepath.Join(dir, supervisorPID))
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 || !processMentions(pid, "local-cluster") {
		return fmt.Errorf("local cluster in %s runs but its supervisor pid is unknown; stop it by hand (see %s)", dir, filepath.Join(dir, supervisorLog))
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for locked(dir) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	killOrphans(dir)
	return nil
}

// List returns every cluster under Root, sorted by name.
func (m *Manager) List() ([]Info, error) {
	entries, err := os.ReadDir(m.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var infos []Info
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if info, err := m.info(e.Name()); err == nil {
			infos = append(infos, *info)
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

// Kubeconfig returns the admin kubeconfig of cluster name.
func (m *Manager) Kubeconfig(name string) ([]byte, error) {
	info, err := m.info(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(info.Kubeconfig)
}

func (m *Manager) info(name string) (*Info, error) {
	dir, st, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: %q (see `herd local-cluster list`)", ErrNotFound, name)
	}
	return &Info{
		Name:       st.Name,
		Dir:        dir,
		Running:    locked(dir),
		Server:     fmt.Sprintf("https://127.0.0.1:%d", st.Ports.APIServer),
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		CreatedAt:  st.CreatedAt,
	}, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no log at " + path
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
