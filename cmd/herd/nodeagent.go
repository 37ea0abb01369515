package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"herd.dev/herd/internal/health"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/nodeagent"
)

// newNodeAgentCommand runs the node agent. With --server it runs a
// machine: it registers it and applies its plan. Without, it runs as the
// import manifest's DaemonSet runs it on a node of an imported cluster,
// which has no plan: it serves its probes and says so.
func newNodeAgentCommand(logger *slog.Logger) *cobra.Command {
	var healthAddr, roles, credentialsDir string
	var labels []string
	cfg := nodeagent.Config{Logger: logger}
	cmd := &cobra.Command{
		Use:   "node-agent",
		Short: "Run the node agent: a machine's plans, or idle on a node of an imported cluster",
		Long: `Run the node agent.

On a machine (--server given) it registers the machine with the cluster's registration token
(--token or HERD_TOKEN), its --roles, --address, --label and --taint, keeps the credential it gets in
--root, and applies the machine's plan from Herd: files under --root, instructions, processes,
probes. Run it again with the same --root and it goes on as the same machine.

On a node of an imported cluster (the import manifest's DaemonSet, no --server) Herd gives it no
plan: it serves /healthz and /readyz ("no plan"), and with --credentials-dir (the node agents'
credentials, which the cluster agent stores) holds the cluster's fallback tunnel to --apiserver, through
which Herd reaches the cluster while no cluster agent is connected. NODE_NAME names the node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Server == "" {
				return runImportedNodeAgent(cmd.Context(), healthAddr, credentialsDir, cfg.APIServer, logger)
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("HERD_TOKEN")
			}
			reg, err := registration(roles, labels, &cfg.Registration)
			if err != nil {
				return err
			}
			cfg.Registration = reg
			return nodeagent.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&healthAddr, "health-addr", "127.0.0.1:9446", "serve /healthz and /readyz on this address (imported clusters)")
	f.StringVar(&cfg.Server, "server", "", "Herd server URL: run a machine")
	f.StringVar(&credentialsDir, "credentials-dir", "", "without --server: the node agents' credentials (url, ca-checksum, token) for the fallback tunnel")
	f.StringVar(&cfg.Token, "token", "", "the cluster's registration token, to register the machine (default $HERD_TOKEN)")
	f.StringVar(&cfg.CAChecksum, "ca-checksum", "", "sha256 of the server CA")
	f.StringVar(&cfg.Root, "root", "", "the machine's folder: its credential, plan state, files and logs")
	f.StringVar(&roles, "roles", "worker", "the machine's roles: etcd, control-plane, worker (comma-separated)")
	f.StringVar(&cfg.Registration.Hostname, "hostname", "", "the machine's name (default: this host's name)")
	f.StringVar(&cfg.Registration.Address, "address", "", "the machine's IP address, where its components listen")
	f.StringArrayVar(&labels, "label", nil, "a label KEY=VALUE of the machine's node (repeatable)")
	f.StringVar(&cfg.APIServer, "apiserver", "", "this control-plane machine's kube-apiserver (HOST:PORT): hold the cluster's fallback tunnel to it")
	f.StringVar(&cfg.BinDir, "bin-dir", localcluster.DefaultBinDir(), "the machine's Kubernetes binaries (etcd, kube-apiserver, kubectl, kwok...), found by plan commands")
	f.StringVar(&cfg.VersionsDir, "kube-versions-dir", "", "a folder of binaries per Kubernetes version (v1.37.2/...), for plans that name a version (default: the folder holding --bin-dir)")
	f.DurationVar(&cfg.Poll, "poll", 5*time.Second, "how often the plan is read")
	f.StringArrayVar(&cfg.Registration.Taints, "taint", nil, "a taint KEY[=VALUE]:EFFECT of the machine's node (repeatable)")
	return cmd
}

// registration completes reg from the flags; the server checks the rest.
func registration(roles string, labels []string, reg *herdapi.NodeRegistration) (herdapi.NodeRegistration, error) {
	out := *reg
	out.Roles = strings.Split(roles, ",")
	if out.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return out, err
		}
		out.Hostname = strings.ToLower(h)
	}
	if out.Address == "" {
		return out, fmt.Errorf("--address is required: the machine's IP address")
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return out, fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[k] = v
	}
	return out, nil
}

// runImportedNodeAgent serves the probes of a node agent of an imported
// cluster and, with credentials, holds the fallback tunnel.
func runImportedNodeAgent(ctx context.Context, healthAddr, credentialsDir, apiServer string, logger *slog.Logger) error {
	node := os.Getenv("NODE_NAME")
	logger.Info("node agent of an imported cluster: no plan for this node", "node", node)
	if credentialsDir == "" || apiServer == "" {
		return health.Serve(ctx, healthAddr, func() (bool, string) {
			return true, "no plan: node " + node + " of an imported cluster"
		}, logger)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return nodeagent.RunImported(ctx, nodeagent.ImportedConfig{CredentialsDir: credentialsDir, APIServer: apiServer, Logger: logger})
	})
	g.Go(func() error {
		return health.Serve(ctx, healthAddr, func() (bool, string) {
			return true, "no plan: node " + node + " of an imported cluster; fallback tunnel to " + apiServer
		}, logger)
	})
	return g.Wait()
}
