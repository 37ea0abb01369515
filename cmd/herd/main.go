// Command herd runs Herd's components: server, agent, node-agent,
// kube-api-auth, and local-cluster (real Kubernetes control planes on this
// machine for development, demos and tests).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "herd:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root := &cobra.Command{
		Use:           "herd",
		Short:         "Herd manages many Kubernetes clusters from one place",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLocalClusterCommand(logger), newServerCommand(logger))
	return root.ExecuteContext(ctx)
}
