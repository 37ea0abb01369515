package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newClustersEndpointCommand(a *app) *cobra.Command {
	var enable, disable bool
	var caFile string
	var e herdapi.AuthorizedEndpoint
	cmd := &cobra.Command{
		Use:   "endpoint CLUSTER (--enable [--fqdn HOST[:PORT] [--ca-file PEM]] | --disable)",
		Short: "Turn a cluster's authorized endpoint (the kubeconfigs' direct context) on or off",
		Long: `Turn a cluster's authorized endpoint on or off (its administrators). With it on, kubeconfigs from Herd
have a second context CLUSTER-direct that reaches the cluster's kube-apiserver with the same token, and
keeps working when Herd is down; kube-api-auth must run on its control-plane nodes (the import manifest
puts it there). --fqdn and --ca-file name a load balancer in front of the control planes; without them
the direct context uses the kube-apiserver address the agent reports, with the cluster's CA.`,
		Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return fmt.Errorf("give --enable or --disable")
			}
			e.Enabled = enable
			if caFile != "" {
				data, err := os.ReadFile(caFile)
				if err != nil {
					return fmt.Errorf("--ca-file: %w", err)
				}
				e.CACerts = string(data)
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			c, err := s.client.SetAuthorizedEndpoint(cmd.Context(), args[0], e)
			if err != nil {
				return explain(err, s.cfg, action{what: "set the authorized endpoint of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) {
				if !enable {
					fmt.Fprintf(w, "cluster %s has no authorized endpoint: kubeconfigs have no direct context\n", c.Name)
					return
				}
				fmt.Fprintf(w, "cluster %s has an authorized endpoint: new kubeconfigs have a context %s-direct (`herdctl kubeconfig %s --direct` makes it current)\n", c.Name, c.Name, c.Name)
			})
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "turn the endpoint on")
	cmd.Flags().BoolVar(&disable, "disable", false, "turn the endpoint off")
	cmd.Flags().StringVar(&e.FQDN, "fqdn", "", "HOST[:PORT] of a load balancer in front of the control planes")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "the PEM CA that --fqdn's certificate is signed by")
	return cmd
}
