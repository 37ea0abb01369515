package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/localcluster"
)

// localClusterFlags are the flags every local-cluster subcommand shares.
type localClusterFlags struct {
	stateDir string
	binDir   string
}

func (f *localClusterFlags) bind(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.stateDir, "state-dir", localcluster.DefaultRoot(), "folder that holds one folder per local cluster")
	cmd.PersistentFlags().StringVar(&f.binDir, "bin-dir", "", "folder of the Kubernetes binaries built by `make kube` (default: $"+localcluster.EnvBinDir+" or _output/kube/<version> of the source tree)")
}

func (f *localClusterFlags) manager(logger *slog.Logger) (*localcluster.Manager, error) {
	root, err := filepath.Abs(f.stateDir)
	if err != nil {
		return nil, fmt.Errorf("--state-dir %q: %w", f.stateDir, err)
	}
	return &localcluster.Manager{Root: root, BinDir: f.binDir, Logger: logger}, nil
}

// startFlags are the flags of create, start and run.
type startFlags struct {
	nodes     int
	port      int
	timeout   time.Duration
	realNodes int
	cpNode    bool
	images    []string
}

func (f *startFlags) bind(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.nodes, "nodes", 1, "number of fake (kwok) nodes; the first is the control-plane node")
	cmd.Flags().IntVar(&f.port, "port", 0, "kube-apiserver port on 127.0.0.1 (0: any free port)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the cluster to be usable")
	cmd.Flags().IntVar(&f.realNodes, "real-nodes", 0, "number of real nodes (a kubelet with containerd and runc each, as root) that run Herd's own pods; at most 8")
	cmd.Flags().BoolVar(&f.cpNode, "control-plane-node", false, "make the first real node the control-plane node, where the import manifest runs the authorized endpoint's kube-api-auth (on 127.0.0.1:6440 of this host: one running local cluster at a time)")
	cmd.Flags().StringArrayVar(&f.images, "image-archive", nil, "image archive to import into the real nodes (repeatable; default: _output/herd-image-<version>.tar of the source tree, from `make image`)")
}

func (f *startFlags) options() (localcluster.Options, error) {
	if f.nodes < 1 || f.nodes > 1000 {
		return localcluster.Options{}, fmt.Errorf("--nodes %d: must be between 1 and 1000", f.nodes)
	}
	if f.port < 0 || f.port > 65535 {
		return localcluster.Options{}, fmt.Errorf("--port %d: must be a TCP port, or 0 for any free one", f.port)
	}
	if f.timeout <= 0 {
		return localcluster.Options{}, fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.realNodes < 0 || f.realNodes > 8 {
		return localcluster.Options{}, fmt.Errorf("--real-nodes %d: must be between 0 and 8", f.realNodes)
	}
	if f.cpNode && f.realNodes == 0 {
		return localcluster.Options{}, errors.New("--control-plane-node: the control-plane node is a real node: add --real-nodes 1 or more")
	}
	images := f.images
	if f.realNodes > 0 && len(images) == 0 {
		images = []string{localcluster.DefaultImageArchive()}
	}
	return localcluster.Options{Nodes: f.nodes, Port: f.port, Timeout: f.timeout, RealNodes: f.realNodes, ControlPlaneNode: f.cpNode, Images: images}, nil
}

func newLocalClusterCommand(logger *slog.Logger) *cobra.Command {
	var common localClusterFlags
	cmd := &cobra.Command{
		Use:   "local-cluster",
		Short: "Run real Kubernetes control planes on this machine (etcd, kube-apiserver, controller manager, scheduler, kwok nodes)",
	}
	common.bind(cmd)
	cmd.AddCommand(
		newLocalClusterStartCommand(&common, logger, "create", "Create a local cluster and start it in the background; returns once it is usable"),
		newLocalClusterStartCommand(&common, logger, "start", "Start a stopped local cluster again, with the state it had"),
		newLocalClusterRunCommand(&common, logger),
		&cobra.Command{
			Use:   "delete NAME",
			Short: "Stop a local cluster and delete all of its state",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				m, err := common.manager(logger)
				if err != nil {
					return err
				}
				if err := m.Delete(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "local cluster %s deleted\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List local clusters",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := common.manager(logger)
				if err != nil {
					return err
				}
				infos, err := m.List()
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tSTATUS\tSERVER\tAGE")
				for _, i := range infos {
					status := "stopped"
					if i.Running {
						status = "running"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", i.Name, status, i.Server, time.Since(i.CreatedAt).Round(time.Second))
				}
				return w.Flush()
			},
		},
		&cobra.Command{
			Use:   "kubeconfig NAME",
			Short: "Print the admin kubeconfig of a local cluster",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				m, err := common.manager(logger)
				if err != nil {
					return err
				}
				data, err := m.Kubeconfig(args[0])
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(data)
				return err
			},
		},
	)
	return cmd
}

// clusterCommand makes a subcommand that takes a cluster name and the
// start flags, and hands both to fn with a Manager.
func clusterCommand(common *localClusterFlags, logger *slog.Logger, use, short string,
	fn func(cmd *cobra.Command, m *localcluster.Manager, name string, opts localcluster.Options) error) *cobra.Command {
	var f startFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			m, err := common.manager(logger)
			if err != nil {
				return err
			}
			return fn(cmd, m, args[0], opts)
		},
	}
	f.bind(cmd)
	return cmd
}

func newLocalClusterStartCommand(common *localClusterFlags, logger *slog.Logger, verb, short string) *cobra.Command {
	return clusterCommand(common, logger, verb+" NAME", short, func(cmd *cobra.Command, m *localcluster.Manager, name string, opts localcluster.Options) error {
		start := m.Create
		if verb == "start" {
			start = m.Start
		}
		began := time.Now()
		info, err := start(cmd.Context(), name, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "local cluster %s is running at %s (took %s)\nkubeconfig: %s\ntry: kubectl --kubeconfig %s get nodes\n",
			info.Name, info.Server, time.Since(began).Round(100*time.Millisecond), info.Kubeconfig, info.Kubeconfig)
		return nil
	})
}

// newLocalClusterRunCommand is the supervisor that create and start launch
// in the background; it runs one cluster in the foreground.
func newLocalClusterRunCommand(common *localClusterFlags, logger *slog.Logger) *cobra.Command {
	return clusterCommand(common, logger, "run NAME", "Run a local cluster in the foreground until interrupted",
		func(cmd *cobra.Command, m *localcluster.Manager, name string, opts localcluster.Options) error {
			if err := os.MkdirAll(m.Root, 0o700); err != nil {
				return err
			}
			return m.Serve(cmd.Context(), name, opts)
		})
}
