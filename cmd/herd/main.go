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

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
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
	// controller-runtime and client-go keep process-wide loggers; point them
	// at the same JSON log, once, here at the root.
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))
	klog.SetSlogLogger(logger)
	root := &cobra.Command{
		Use:           "herd",
		Short:         "Herd manages many Kubernetes clusters from one place",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLocalClusterCommand(logger), newServerCommand(logger), newAgentCommand(logger), newNodeAgentCommand(logger), newKubeAPIAuthCommand(logger), newDemoCommand(logger), newEtcdJoinCommand(), newEtcdSnapshotCommand())
	return root.ExecuteContext(ctx)
}
