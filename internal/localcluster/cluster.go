package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is one real Kubernetes control plane on loopback.
type Cluster struct {
	cfg   Config
	pki   pki
	ports ports

	mu       sync.Mutex
	lockFile *os.File
	// cpClaim holds the host's control-plane node (ControlPlaneNode).
	cpClaim *os.File
	etcd    *embed.Etcd
	procs   []*process
	// Real nodes: their address block, the kubernetes Service's
	// forwarder, and the nodes.
	subnet    subnet
	forwarder *serviceForwarder
	nodes     []*realNode
	started   bool
	stopped   bool
	failed    chan struct{} // closed when a component exits on its own
	failOnce  sync.Once
	failErr   error
}

// New checks cfg and returns a cluster that Start brings up.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Cluster{
		cfg:    cfg,
		pki:    pki{dir: filepath.Join(cfg.Dir, "pki")},
		failed: make(chan struct{}),
	}, nil
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Dir returns the state directory.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// KubeconfigPath is the admin (system:masters) kubeconfig.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.cfg.Dir, "kubeconfig") }

// CACertPath is the cluster CA, which signs the API server's certificate.
func (c *Cluster) CACertPath() string { return c.pki.crt(certCA) }

// ServerURL is the kube-apiserver's address; valid after Start.
func (c *Cluster) ServerURL() string { return c.serverURL() }

// Ports lists the loopback ports the cluster listens on; valid after Start.
func (c *Cluster) Ports() []int { return c.ports.list() }

// PIDs lists the component processes; valid after Start.
func (c *Cluster) PIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := make([]int, 0, len(c.procs))
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// RESTConfig returns an admin client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
}

// Failed is closed when a component exits while the cluster runs; Err then
// says which.
func (c *Cluster) Failed() <-chan struct{} { return c.failed }

// Err returns why the cluster failed, or nil.
func (c *Cluster) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failErr
}

// Run starts the cluster, blocks until ctx ends or a component fails, then
// stops it.
func (c *Cluster) Run(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer c.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-c.failed:
		return c.Err()
	}
}

// Start brings the cluster up and returns once it is usable: the API server
// is ready, every node is Ready, the controller manager has made the
// default service account and the scheduler holds its lease. On any error
// everything started so far is stopped again.
func (c *Cluster) Start(ctx context.Context) (err error) {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return fmt.Errorf("localcluster: %s already started", c.cfg.Name)
	}
	c.started = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	defer cancel()
	begin := time.Now()
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("failed to start local cluster %s: %w", c.cfg.Name, err)
		}
	}()
	if err := CheckBinaries(ctx, c.cfg.BinDir); err != nil {
		return err
	}
	if err := c.prepareDir(); err != nil {
		return err
	}
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	kwokConfig, err := writeKwokConfig(c.cfg.Dir, c.cfg.BinDir, c.ports.APIServer)
	if err != nil {
		return err
	}
	comps := c.components(kwokConfig)
	if err := c.startComponent(comps[0]); err != nil {
		return err
	}
	client, err := newAdminClient(c)
	if err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx, client); err != nil {
		return err
	}
	for _, comp := range comps[1:] {
		if err := c.startComponent(comp); err != nil {
			return err
		}
	}
	if err := registerNodes(ctx, client, c.cfg.Nodes); err != nil {
		return err
	}
	if err := c.startRealNodes(ctx); err != nil {
		return err
	}
	if err := c.markControlPlaneNode(ctx, client); err != nil {
		return err
	}
	if err := c.waitUsable(ctx, client); err != nil {
		return err
	}
	c.cfg.Logger.Info("local cluster ready", "cluster", c.cfg.Name, "server", c.serverURL(),
		"kubeconfig", c.KubeconfigPath(), "took", time.Since(begin).Round(time.Millisecond))
	return nil
}

// prepareDir checks and locks the state directory, chooses ports and
// writes PKI and kubeconfigs.
func (c *Cluster) prepareDir() error {
	dir := c.cfg.Dir
	prev, err := readState(dir)
	if err != nil {
		return err
	}
	if prev != nil && prev.Name != c.cfg.Name {
		return fmt.Errorf("%w: %s belongs to local cluster %q, not %q: choose another --state-dir", ErrForeignDir, dir, prev.Name, c.cfg.Name)
	}
	for _, sub := range []string{"logs", "run", "kubeconfigs", "kwok"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("failed to create %s: %w", filepath.Join(dir, sub), err)
		}
	}
	lf, err := lock(dir)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.lockFile = lf
	c.mu.Unlock()
	if pids := killOrphans(dir); len(pids) > 0 {
		c.cfg.Logger.Warn("killed processes left by an earlier run", "cluster", c.cfg.Name, "pids", pids)
	}
	st := &state{Kind: stateKind, Name: c.cfg.Name, Version: KubernetesVersion, CreatedAt: time.Now().UTC()}
	if prev != nil {
		st.CreatedAt = prev.CreatedAt
		st.Ports = prev.Ports
		st.Subnet = prev.Subnet
	}
	if err := c.reserveSubnet(st); err != nil {
		return err
	}
	if c.ports, err = choosePorts(c.cfg.APIServerPort, st.Ports); err != nil {
		return err
	}
	st.Ports = c.ports
	st.Kubeconfig = c.KubeconfigPath()
	c.pki.serviceIP = c.serviceIP()
	if err := c.pki.ensure(); err != nil {
		return err
	}
	if err := c.claimControlPlaneNode(); err != nil {
		return err
	}
	kc := func(name string) string { return filepath.Join(dir, "kubeconfigs", name+".kubeconfig") }
	for path, cert := range map[string]string{
		c.KubeconfigPath():       certAdmin,
		kc("controller-manager"): certController,
		kc("scheduler"):          certScheduler,
	} {
		if err := writeKubeconfig(path, c.cfg.Name, c.serverURL(), c.pki, cert); err != nil {
			return fmt.Errorf("failed to write %s: %w", path, err)
		}
	}
	if err := c.writeAuthWebhookKubeconfig(); err != nil {
		return err
	}
	return writeState(dir, st)
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	e, err := startEtcd(ctx, filepath.Join(c.cfg.Dir, "etcd"), filepath.Join(c.cfg.Dir, "logs"), c.ports)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.etcd = e
	c.mu.Unlock()
	go func() {
		if err, ok := <-e.Err(); ok && err != nil {
			c.fail(fmt.Errorf("etcd failed: %w", err))
		}
	}()
	return nil
}

func (c *Cluster) startComponent(comp component) error {
	p, err := startProcess(c.cfg.Dir, comp.name, comp.bin, comp.args, c.cfg.Logger)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	go func() {
		<-p.done
		c.fail(fmt.Errorf("%s exited (%v); the end of %s:\n%s", p.name, p.err, p.logPath, tail(p.logPath, 3)))
	}()
	return nil
}

// fail records the first component failure, unless the cluster is stopping.
func (c *Cluster) fail(err error) {
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return
	}
	c.failOnce.Do(func() {
		c.mu.Lock()
		c.failErr = err
		c.mu.Unlock()
		c.cfg.Logger.Error("local cluster component failed", "cluster", c.cfg.Name, "err", err)
		close(c.failed)
	})
}

// Stop stops every component in reverse order, then etcd, and releases the
// state directory. It is safe to call more than once. A stopped Cluster
// cannot be started again; make a new one on the same Dir instead.
func (c *Cluster) Stop() {
	c.mu.Lock()
	c.stopped = true
	procs := c.procs
	c.procs = nil
	e := c.etcd
	c.etcd = nil
	lf := c.lockFile
	c.lockFile = nil
	nodes, fwd, sub := c.nodes, c.forwarder, c.subnet
	c.nodes, c.forwarder = nil, nil
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
	if fwd != nil {
		fwd.close()
	}
	for i := len(procs) - 1; i >= 0; i-- {
		wg.Go(func() { procs[i].stop(10 * time.Second) })
	}
	wg.Wait()
	if e != nil {
		e.Close()
	}
	if sub.K != 0 {
		if err := releaseSubnet(context.Background(), sub, maxRealNodes); err != nil {
			c.cfg.Logger.Warn("failed to delete the real nodes' links", "cluster", c.cfg.Name, "err", err)
		}
	}
	c.releaseControlPlaneNode()
	if lf != nil {
		_ = lf.Close()
	}
}
