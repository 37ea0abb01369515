package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newPrincipalsCommand(a *app) *cobra.Command {
	return group("principals", "Find the users and groups of the identity providers",
		newPrincipalsSearchCommand(a),
	)
}

func newPrincipalsSearchCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "search QUERY",
		Short: "Find users and groups whose names start with QUERY",
		Long: `Find users and groups whose names start with QUERY, in local users and the
enabled identity providers. The ID column is what ` + "`herdctl members add --group`" + `
takes, so roles can be bound to groups (and users) before they ever log in.`,
		Example: `  herdctl principals search devs
  herdctl members add --project web --role project-member --group "$(herdctl principals search devs -o json | jq -r '.items[0].id')"`,
		Args: needArgs("QUERY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return fmt.Errorf("QUERY is empty: give the start of a user or group name")
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.SearchPrincipals(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "search users and groups"})
			}
			if list.Items == nil {
				list.Items = []herdapi.Principal{}
			}
			if a.tableMode() && len(list.Items) == 0 {
				fmt.Fprintf(a.stderr, "No users or groups match %q\n", args[0])
				return nil
			}
			return a.print(list, func(w io.Writer) {
				row(w, "ID", "KIND", "PROVIDER", "NAME", "DISPLAY NAME")
				for _, p := range list.Items {
					row(w, p.ID, p.Kind, p.Provider, p.Name, p.DisplayName)
				}
			})
		},
	}
}
