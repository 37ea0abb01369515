package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/machinedriver"
)

// demoCluster is the local cluster that `make demo` (hack/demo.sh) starts.
const demoCluster = "demo"

// newDemoCommand holds what concerns the demo of `make demo`.
func newDemoCommand(logger *slog.Logger) *cobra.Command {
	var dataDir, stateDir string
	home, _ := os.UserHomeDir()
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove what `make demo` started: its Herd server, the local cluster demo, and their state",
		Long: `Stop and remove exactly what ` + "`make demo`" + ` started, and nothing else: the Herd server it
runs from --data-dir (found by the pid file the demo wrote, and only if that process is a herd server
of that folder), the machines and hosted clusters that server made (they outlive it by design), the
local cluster "demo" with its real nodes' containers, mounts and links, the server's data folder and
the demo's herdctl configuration. Running it again, or with nothing
running, is fine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demoDown(cmd.Context(), cmd.OutOrStdout(), dataDir, &localcluster.Manager{Root: stateDir, Logger: logger})
		},
	}
	down.Flags().StringVar(&dataDir, "data-dir", filepath.Join(home, ".herd", "demo-server"), "the demo server's data folder")
	down.Flags().StringVar(&stateDir, "state-dir", localcluster.DefaultRoot(), "folder that holds the local clusters")
	demo := &cobra.Command{Use: "demo", Short: "The demo that `make demo` starts"}
	demo.AddCommand(down)
	return demo
}

// demoDown stops the demo's server and cluster and removes their state.
func demoDown(ctx context.Context, out io.Writer, dataDir string, m *localcluster.Manager) error {
	dataDir = filepath.Clean(dataDir)
	stopped, err := stopDemoServer(ctx, dataDir)
	if err != nil {
		return err
	}
	if stopped != 0 {
		fmt.Fprintf(out, "stopped the herd server (pid %d)\n", stopped)
	}
	if err := endServerMachines(ctx, out, dataDir); err != nil {
		return err
	}
	switch err := m.Delete(ctx, demoCluster); {
	case errors.Is(err, localcluster.ErrNotFound):
	case err != nil:
		return err
	default:
		fmt.Fprintf(out, "deleted local cluster %s\n", demoCluster)
	}
	for _, p := range []string{dataDir, dataDir + ".pid", dataDir + ".log", dataDir + ".out", dataDir + ".herdctl-config", dataDir + ".agent.log"} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", p)
	}
	return nil
}

// endServerMachines ends what the demo server made that outlives it: the
// local driver's machines and the local hosted provider's clusters.
func endServerMachines(ctx context.Context, out io.Writer, dataDir string) error {
	local := &machinedriver.Local{Dir: filepath.Join(dataDir, "machines")}
	clusters, err := local.Clusters()
	if err != nil {
		return err
	}
	for _, c := range clusters {
		machines, err := local.List(ctx, c)
		if err != nil {
			return err
		}
		for _, m := range machines {
			if err := local.Delete(ctx, m); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted machine %s of cluster %s\n", m.Hostname, c)
		}
	}
	hosted := &localcluster.Manager{Root: filepath.Join(dataDir, "hosted")}
	infos, err := hosted.List()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, i := range infos {
		if err := hosted.Delete(ctx, i.Name); err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted hosted cluster %s\n", i.Name)
	}
	return nil
}

// stopDemoServer ends the server whose pid the demo wrote to
// <dataDir>.pid, if that process is still a herd server of dataDir:
// SIGTERM, then SIGKILL after 30 s. It returns the pid it stopped, or 0.
func stopDemoServer(ctx context.Context, dataDir string) (int, error) {
	data, err := os.ReadFile(dataDir + ".pid")
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s.pid does not hold a process id: remove it if no demo server runs", dataDir)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.Split(string(cmdline), "\x00")
	if err != nil || len(args) < 2 || args[1] != "server" || !strings.Contains(string(cmdline), "\x00"+dataDir+"\x00") {
		return 0, nil // gone, or the pid now belongs to something else
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return pid, nil
}
