package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/agent"
)

func newAgentCommand(logger *slog.Logger) *cobra.Command {
	var cfg agent.Config
	var debugListen string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the cluster agent: register this cluster with Herd and hold its tunnel",
		Long: `Run the cluster agent. In a pod it is configured by HERD_SERVER, HERD_TOKEN and
HERD_CA_CHECKSUM (from the import manifest's Secret) and the in-cluster service account;
outside a cluster give --server, --token (or --token-file), --ca-checksum and --kubeconfig (with a
bearer token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for flag, env := range map[*string]string{&cfg.Server: "HERD_SERVER", &cfg.Token: "HERD_TOKEN", &cfg.CAChecksum: "HERD_CA_CHECKSUM"} {
				if *flag == "" && (flag != &cfg.Token || cfg.TokenFile == "") {
					*flag = os.Getenv(env)
				}
			}
			cfg.Logger = logger
			if os.Getenv("GOMAXPROCS") == "" {
				// The agent is a pipe: one WebSocket reader, one writer and a
				// copy per stream, each handing bytes to the next. On one P
				// the hand-offs run on the same thread instead of waking
				// another; BenchmarkGet measured 20-30% less agent CPU per
				// request and no loss of latency (docs/benchmarks.md).
				runtime.GOMAXPROCS(1)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			if debugListen != "" {
				if err := serveDebug(ctx, debugListen, logger); err != nil {
					return err
				}
			}
			return agent.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "", "Herd server URL (default $HERD_SERVER)")
	f.StringVar(&cfg.Token, "token", "", "cluster registration token (default $HERD_TOKEN)")
	f.StringVar(&cfg.TokenFile, "token-file", "", "file holding the cluster registration token, read at start (instead of --token)")
	f.StringVar(&cfg.CAChecksum, "ca-checksum", "", "sha256 of the server CA (default $HERD_CA_CHECKSUM)")
	f.StringVar(&cfg.HealthAddr, "health-addr", "", "serve /healthz and /readyz (ready while the tunnel is up) on this address, e.g. :9445")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of this cluster with a bearer token (default: in-cluster service account)")
	f.StringVar(&debugListen, "debug-listen", "", "loopback HOST:PORT serving Go's runtime profiles at /debug/pprof/ (default: off)")
	return cmd
}
