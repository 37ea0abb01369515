package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newClustersUpgradeCommand(a *app) *cobra.Command {
	var u herdapi.ClusterUpgrade
	cmd := &cobra.Command{
		Use:   "upgrade CLUSTER --kubernetes-version VERSION [--worker-concurrency N]",
		Short: "Upgrade a provisioned cluster to another Kubernetes version",
		Long: `Upgrade a provisioned cluster (its administrators): Herd moves its control planes to VERSION one at a
time, then its workers, N at a time (default 1), each cordoned and drained first (PodDisruptionBudgets
are honoured) and uncordoned after. Upgrades go one minor version at a time; downgrades are refused.
` + "`herdctl clusters get CLUSTER`" + ` shows the machine being worked on.`,
		Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if u.KubernetesVersion == "" {
				return fmt.Errorf("give --kubernetes-version VERSION (the server answers which versions it provisions)")
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			c, err := s.client.Upgrade(cmd.Context(), args[0], u)
			if err != nil {
				return explain(err, s.cfg, action{what: "upgrade cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) {
				fmt.Fprintf(w, "cluster %s is being upgraded to Kubernetes %s; `herdctl clusters get %s` shows how far it is\n", c.Name, u.KubernetesVersion, c.Name)
			})
		},
	}
	cmd.Flags().StringVar(&u.KubernetesVersion, "kubernetes-version", "", "the version to upgrade to")
	cmd.Flags().Int32Var(&u.WorkerConcurrency, "worker-concurrency", 0, "workers drained and upgraded at once (default: as before, else 1)")
	return cmd
}
