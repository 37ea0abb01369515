package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/health"
)

// newNodeAgentCommand runs the node agent as the import manifest's
// DaemonSet runs it: on a node of an imported cluster it has no plan (plans
// come with provisioned clusters), so it serves its probes and says so.
func newNodeAgentCommand(logger *slog.Logger) *cobra.Command {
	var healthAddr string
	cmd := &cobra.Command{
		Use:   "node-agent",
		Short: "Run the node agent on a node: idle with no plan on imported clusters",
		Long: `Run the node agent. On a node of an imported cluster Herd gives it no plan: it
serves /healthz and /readyz ("no plan") and waits. NODE_NAME names the node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			node := os.Getenv("NODE_NAME")
			logger.Info("node agent idle: no plan for this node", "node", node)
			return health.Serve(cmd.Context(), healthAddr, func() (bool, string) {
				return true, "no plan: node " + node + " of an imported cluster"
			}, logger)
		},
	}
	cmd.Flags().StringVar(&healthAddr, "health-addr", "127.0.0.1:9446", "serve /healthz and /readyz on this address")
	return cmd
}
