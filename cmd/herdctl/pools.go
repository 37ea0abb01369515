package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

// parsePool reads --pool NAME=QUANTITY:ROLE[+ROLE...], for example
// cp=3:etcd+control-plane or workers=2:worker.
func parsePool(s string) (herdapi.MachinePool, error) {
	name, rest, ok := strings.Cut(s, "=")
	qty, roles, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(qty, 10, 32)
	if !ok || !ok2 || name == "" || roles == "" || err != nil {
		return herdapi.MachinePool{}, fmt.Errorf("--pool %q: want NAME=QUANTITY:ROLES with roles joined by '+', like cp=3:etcd+control-plane or workers=2:worker", s)
	}
	return herdapi.MachinePool{Name: name, Quantity: int32(n), Roles: strings.Split(roles, "+"), Driver: "local"}, nil
}

func newClustersScaleCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "scale CLUSTER POOL QUANTITY",
		Short: "Set how many machines a machine pool of a provisioned cluster has",
		Long: `Set how many machines a machine pool of a provisioned cluster has. Herd's machine driver
creates the missing machines, and removes extra ones newest first: the node drained (PodDisruptionBudgets
honoured) and deleted, its etcd member removed, its processes stopped, the machine deleted.`,
		Args: needArgs("CLUSTER", "POOL", "QUANTITY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseInt(args[2], 10, 32)
			if err != nil || n < 0 {
				return fmt.Errorf("QUANTITY %q: want a number of machines, 0 or more", args[2])
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			c, err := s.client.SetMachinePool(cmd.Context(), args[0], herdapi.MachinePool{Name: args[1], Quantity: int32(n)})
			if err != nil {
				return explain(err, s.cfg, action{what: "scale machine pool " + args[1] + " of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) { printPools(w, c.MachinePools) })
		},
	}
}

func printPools(w io.Writer, pools []herdapi.MachinePool) {
	fmt.Fprintln(w, "POOL\tQUANTITY\tROLES\tDRIVER")
	for _, p := range pools {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", p.Name, p.Quantity, strings.Join(p.Roles, ","), p.Driver)
	}
}
