package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/kubeapiauth"
)

func newKubeAPIAuthCommand(logger *slog.Logger) *cobra.Command {
	var (
		cfg        kubeapiauth.Config
		kubeconfig string
	)
	cmd := &cobra.Command{
		Use:   "kube-api-auth",
		Short: "Answer this cluster's kube-apiserver TokenReviews for Herd tokens (authorized cluster endpoint)",
		Long: `Run the webhook token authenticator that a downstream kube-apiserver calls through
--authentication-token-webhook-config-file. It answers from Herd's token copies, the Secrets
in herd-tokens labelled management.herd.dev/token-copy=<--cluster>, and serves HTTPS on
loopback: POST /authenticate (or /) and GET /healthz. Its own credentials (--kubeconfig or the
in-cluster service account) need list and watch on Secrets in herd-tokens and must not depend
on this webhook.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Cluster == "" {
				cfg.Cluster = os.Getenv("HERD_CLUSTER")
			}
			if cfg.ClusterUID == "" {
				cfg.ClusterUID = os.Getenv("HERD_CLUSTER_UID")
			}
			kube, err := kubeAPIAuthClient(kubeconfig)
			if err != nil {
				return err
			}
			cfg.Kube, cfg.Logger = kube, logger
			s, err := kubeapiauth.New(cfg)
			if err != nil {
				return err
			}
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Cluster, "cluster", "", "this cluster's Herd name (default $HERD_CLUSTER)")
	f.StringVar(&cfg.ClusterUID, "cluster-uid", "", "the UID of this cluster's Herd Cluster object, from the import manifest (default $HERD_CLUSTER_UID)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of this cluster (default: in-cluster service account)")
	f.StringVar(&cfg.Listen, "listen", kubeapiauth.DefaultListen, "HTTPS listen address")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serving certificate (PEM) that the webhook kubeconfig trusts")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "serving key (PEM), with --tls-cert")
	return cmd
}

// kubeAPIAuthClient is a client of the cluster that holds the token copies:
// from kubeconfig, or the in-cluster service account when it is empty.
func kubeAPIAuthClient(kubeconfig string) (kubernetes.Interface, error) {
	var rc *rest.Config
	var err error
	if kubeconfig == "" {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the cluster's credentials (--kubeconfig): %w", err)
	}
	rc.UserAgent = "herd-kube-api-auth"
	return kubernetes.NewForConfig(rc)
}
