package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/server"
)

func newServerCommand(logger *slog.Logger) *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Herd management server (embedded management cluster unless --kubeconfig is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = logger
			s, err := server.New(cfg)
			if err != nil {
				return err
			}
			return s.Run(cmd.Context(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "", "folder for the embedded management cluster and generated TLS files (default ~/.herd/server)")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of an existing management cluster (default: start an embedded one)")
	f.StringVar(&cfg.Listen, "listen", ":8443", "HTTPS listen address")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serving certificate (PEM); default: generated under --data-dir")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "serving key (PEM), with --tls-cert")
	f.StringVar(&cfg.KubeBinDir, "kube-bin-dir", "", "Kubernetes binaries for the embedded management cluster (default: as herd local-cluster)")
	return cmd
}
