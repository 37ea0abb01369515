package main

import (
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newMachinesCommand(a *app) *cobra.Command {
	return group("machines", "The machines of a cluster and the state of their plans",
		newMachinesListCommand(a),
	)
}

func newMachinesListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list CLUSTER", Aliases: []string{"ls"}, Short: "List a cluster's machines (its administrators)", Args: needArgs("CLUSTER"),
		Long: `List the machines of a cluster: their node agents registered them with the cluster's
registration token. PLAN is the state of each machine's plan, PROBES how many of its probes pass.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListMachines(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "list the machines of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(list, func(w io.Writer) { a.machineTable(w, list.Items) })
		},
	}
}

func (a *app) machineTable(w io.Writer, machines []herdapi.Machine) {
	row(w, "HOSTNAME", "ADDRESS", "ROLES", "PLAN", "PROBES", "LAST CONTACT", "NAME")
	now := a.now()
	for _, m := range machines {
		plan := m.PlanState
		if plan == "" {
			plan = "-"
		}
		if m.FailedInstruction != "" {
			plan += " (" + m.FailedInstruction + ", " + strconv.Itoa(int(m.Failures)) + " tries)"
		}
		contact := "-"
		if m.LastContact != nil {
			contact = age(*m.LastContact, now) + " ago"
		}
		row(w, m.Hostname, m.Address, strings.Join(m.Roles, ","), plan, probes(m.Probes), contact, m.Name)
	}
}

// probes is "passing/all" of a machine's probes, "-" without any.
func probes(p map[string]bool) string {
	if len(p) == 0 {
		return "-"
	}
	ok := 0
	for _, pass := range p {
		if pass {
			ok++
		}
	}
	return strconv.Itoa(ok) + "/" + strconv.Itoa(len(p))
}
