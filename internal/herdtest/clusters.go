package herdtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/localcluster"
)

// Clusters are local clusters shared by one test package.
type Clusters struct {
	root string
	list []*localcluster.Cluster
	stop sync.Once
}

// StartClusters starts one local cluster per name, side by side, for use
// from TestMain (which has no testing.T). Each gets nodes worker nodes
// besides its control-plane node. Stop must be called; it is also called on
// SIGINT or SIGTERM so an interrupted run leaves nothing behind.
func StartClusters(ctx context.Context, nodes int, names ...string) (*Clusters, error) {
	return StartClustersWith(ctx, ClusterOptions{Workers: nodes}, names...)
}

// ClusterOptions shape the clusters of StartClustersWith.
type ClusterOptions struct {
	// Workers is the number of kwok worker nodes besides the
	// control-plane node.
	Workers int
	// RealNodes is the number of real nodes (kubelet, containerd, runc)
	// of each cluster; they run Herd's image, built from the module
	// under test.
	RealNodes int
}

// StartClustersWith is StartClusters with real nodes too.
func StartClustersWith(ctx context.Context, opts ClusterOptions, names ...string) (*Clusters, error) {
	root, err := os.MkdirTemp("", "herd-clusters-")
	if err != nil {
		return nil, err
	}
	cs := &Clusters{root: root}
	var images []string
	if opts.RealNodes > 0 {
		archive, err := BuildImageArchive(root)
		if err != nil {
			cs.Stop()
			return nil, err
		}
		images = []string{archive}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	configs := make([]localcluster.Config, len(names))
	for i, name := range names {
		configs[i] = localcluster.Config{
			Name:      name,
			Dir:       filepath.Join(root, name),
			Nodes:     localcluster.DefaultNodes(name, opts.Workers+1),
			RealNodes: opts.RealNodes,
			Images:    images,
			Logger:    log,
		}
		c, err := localcluster.New(configs[i])
		if err != nil {
			cs.Stop()
			return nil, err
		}
		cs.list = append(cs.list, c)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if s, ok := <-sig; ok {
			cs.Stop()
			fmt.Fprintf(os.Stderr, "herdtest: stopped local clusters on %v\n", s)
			os.Exit(2)
		}
	}()
	errs := make([]error, len(cs.list))
	var wg sync.WaitGroup
	for i := range cs.list {
		wg.Go(func() { errs[i] = cs.start(ctx, i, configs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		cs.Stop()
		return nil, err
	}
	return cs, nil
}

// Get returns the cluster with that name, or nil.
func (cs *Clusters) Get(name string) *localcluster.Cluster {
	for _, c := range cs.list {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// All returns every cluster in the order of StartClusters.
func (cs *Clusters) All() []*localcluster.Cluster { return cs.list }

// Stop stops every cluster and removes their state; safe to call twice.
func (cs *Clusters) Stop() {
	cs.stop.Do(func() {
		var wg sync.WaitGroup
		for _, c := range cs.list {
			wg.Go(c.Stop)
		}
		wg.Wait()
		_ = os.RemoveAll(cs.root)
	})
}

// RunWithClusters is the body of a TestMain: it starts local clusters
// (workers worker nodes each) into *into, runs the package's tests and stops
// the clusters. Its result is the exit code.
func RunWithClusters(m *testing.M, into **Clusters, workers int, names ...string) int {
	return RunWithClustersOf(m, into, ClusterOptions{Workers: workers}, names...)
}

// RunWithClustersOf is RunWithClusters with real nodes too.
func RunWithClustersOf(m *testing.M, into **Clusters, opts ClusterOptions, names ...string) int {
	if fuzzing() {
		// Fuzz targets need no clusters, and the fuzzing engine kills its
		// workers without the cleanup that stops them.
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cs, err := StartClustersWith(ctx, opts, names...)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain: failed to start local clusters:", err)
		return 1
	}
	defer cs.Stop()
	*into = cs
	return m.Run()
}

// fuzzing reports whether the test binary runs a fuzz target (go test
// -fuzz) or is one of its workers.
func fuzzing() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}

// start starts cluster i. Clusters started side by side pick their ports
// on their own, so two may pick the same free port; the one that loses
// the race starts again, from scratch, with other ports.
func (cs *Clusters) start(ctx context.Context, i int, cfg localcluster.Config) error {
	for attempt := 1; ; attempt++ {
		err := cs.list[i].Start(ctx)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		fmt.Fprintf(os.Stderr, "herdtest: local cluster %s lost a port to another process (%v); starting it again\n", cfg.Name, err)
		cs.list[i].Stop()
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return err
		}
		c, err := localcluster.New(cfg)
		if err != nil {
			return err
		}
		cs.list[i] = c
	}
}
