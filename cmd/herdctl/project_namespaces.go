package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newProjectsAddNamespaceCommand(a *app) *cobra.Command {
	var create bool
	cmd := &cobra.Command{
		Use:   "add-namespace PROJECT NAMESPACE [--create]",
		Short: "Move a namespace of the project's cluster into the project",
		Long: `Move a namespace of the project's cluster into the project: the project's
members get their roles in it. With --create the namespace is made when it
does not exist. A namespace is in one project at most.`,
		Args: needArgs("PROJECT", "NAMESPACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			project, ns := args[0], args[1]
			p, err := s.client.AddProjectNamespace(cmd.Context(), project, herdapi.ProjectNamespaceRequest{Namespace: ns, Create: create})
			var apiErr *herdclient.APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
				return hint(err, "namespace %s is in another project: find it with `herdctl projects list` and run `herdctl projects remove-namespace OTHER %s` first", ns, ns)
			}
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
				return hint(err, "project %s or namespace %s not found: see `herdctl projects list`, or add --create to make the namespace", project, ns)
			}
			if err != nil {
				return explain(err, s.cfg, action{what: fmt.Sprintf("add namespace %s to project %s", ns, project)})
			}
			return a.print(p, func(w io.Writer) { fmt.Fprintf(w, "namespace %s added to project %s\n", ns, project) })
		},
	}
	cmd.Flags().BoolVar(&create, "create", false, "make the namespace if it does not exist")
	return cmd
}

func newProjectsRemoveNamespaceCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-namespace PROJECT NAMESPACE",
		Short: "Take a namespace out of a project (the namespace stays)",
		Long: `Take a namespace out of a project. The namespace and what runs in it stay;
the project's members lose their access to it.`,
		Args: needArgs("PROJECT", "NAMESPACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			project, ns := args[0], args[1]
			err = s.client.RemoveProjectNamespace(cmd.Context(), project, ns)
			var apiErr *herdclient.APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
				return hint(err, "project %s has no namespace %s: see `herdctl projects get %s`", project, ns, project)
			}
			if err != nil {
				return explain(err, s.cfg, action{what: fmt.Sprintf("remove namespace %s from project %s", ns, project)})
			}
			fmt.Fprintf(a.stdout, "namespace %s removed from project %s\n", ns, project)
			return nil
		},
	}
}
