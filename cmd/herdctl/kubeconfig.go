package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdclient"
)

func newKubeconfigCommand(a *app) *cobra.Command {
	var exec, direct bool
	cmd := &cobra.Command{
		Use:   "kubeconfig CLUSTER [--exec] [--direct]",
		Short: "Print a kubeconfig that reaches CLUSTER through Herd",
		Long: `Print a kubeconfig whose context reaches CLUSTER through Herd's proxy. By default it holds a
new kubeconfig token scoped to that cluster (valid 30 days unless the server says less); with
--exec it holds no secret and runs ` + "`herdctl token`" + ` for your current login instead.
When the cluster has an authorized endpoint, the kubeconfig also has a context CLUSTER-direct that
reaches its kube-apiserver directly with the same token (it keeps working when Herd is down);
--direct makes it the current context.`,
		Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			data, err := s.client.KubeconfigWith(cmd.Context(), args[0], herdclient.KubeconfigOptions{Exec: exec, Direct: direct})
			if err != nil {
				return explain(err, s.cfg, action{what: "get a kubeconfig for cluster " + args[0], kind: "cluster", name: args[0]})
			}
			_, err = a.stdout.Write(data)
			return err
		},
	}
	cmd.Flags().BoolVar(&exec, "exec", false, "use `herdctl token` as a kubectl exec credential plugin instead of embedding a token")
	cmd.Flags().BoolVar(&direct, "direct", false, "make the direct context (the cluster's authorized endpoint) current")
	return cmd
}

// execCredential is client.authentication.k8s.io/v1 ExecCredential.
type execCredential struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     struct {
		Token string `json:"token"`
	} `json:"status"`
}

func newTokenCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "token",
		Short: "Print your login token as a kubectl exec credential (client.authentication.k8s.io/v1)",
		Args:  needArgs(),
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Server == "" || cfg.Token == "" {
				return fmt.Errorf("not logged in: run `%s`", loginCommand(cfg))
			}
			cred := execCredential{APIVersion: "client.authentication.k8s.io/v1", Kind: "ExecCredential"}
			cred.Status.Token = cfg.Token
			return json.NewEncoder(a.stdout).Encode(cred)
		},
	}
}
