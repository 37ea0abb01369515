package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

// shownNamespaces is how many namespaces a project's row names.
const shownNamespaces = 3

func newProjectsCommand(a *app) *cobra.Command {
	return group("projects", "Group namespaces of a cluster into projects",
		newProjectsListCommand(a),
		newProjectsGetCommand(a),
		newProjectsCreateCommand(a),
		newProjectsDeleteCommand(a),
		newProjectsAddNamespaceCommand(a),
		newProjectsRemoveNamespaceCommand(a),
	)
}

func projectAction(verb, name string) action {
	return action{what: verb + " project " + name, kind: "project", name: name}
}

func newProjectsListCommand(a *app) *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use: "list [--cluster NAME]", Aliases: []string{"ls"}, Short: "List the projects you may see", Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListProjects(cmd.Context(), cluster)
			if err != nil {
				act := action{what: "list projects"}
				if cluster != "" {
					act = action{what: "list the projects of cluster " + cluster, kind: "cluster", name: cluster}
				}
				return explain(err, s.cfg, act)
			}
			if list.Items == nil {
				list.Items = []herdapi.Project{}
			}
			if a.tableMode() && len(list.Items) == 0 {
				fmt.Fprintln(a.stderr, "No projects: make one with `herdctl projects create NAME --cluster CLUSTER`")
				return nil
			}
			return a.print(list, func(w io.Writer) { a.projectTable(w, list.Items...) })
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "only the projects of this cluster")
	return cmd
}

func (a *app) projectTable(w io.Writer, projects ...herdapi.Project) {
	row(w, "NAME", "CLUSTER", "NAMESPACES", "AGE")
	now := a.now()
	for _, p := range projects {
		row(w, p.Name, p.ClusterName, compact(p.Namespaces, shownNamespaces), age(p.CreatedAt, now))
	}
}

func newProjectsGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "get NAME", Short: "Show one project with all its namespaces", Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			p, err := s.client.GetProject(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, projectAction("get", args[0]))
			}
			return a.print(p, func(w io.Writer) {
				fields(w, "Name", p.Name, "Cluster", p.ClusterName, "Display name", p.DisplayName,
					"Description", p.Description, "Age", age(p.CreatedAt, a.now()))
				list(w, "Namespaces", p.Namespaces)
			})
		},
	}
}

func newProjectsCreateCommand(a *app) *cobra.Command {
	var req herdapi.ProjectCreateRequest
	cmd := &cobra.Command{
		Use:   "create NAME --cluster NAME [--display-name TEXT] [--description TEXT]",
		Short: "Create a project in a cluster",
		Long: `Create a project in a cluster. NAME is a DNS label unique across Herd. Move
namespaces into it with ` + "`herdctl projects add-namespace`" + `.`,
		Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.ClusterName == "" {
				return fmt.Errorf("--cluster is required: name the cluster the project is in (see `herdctl clusters list`)")
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			req.Name = args[0]
			p, err := s.client.CreateProject(cmd.Context(), req)
			if err != nil {
				return explain(err, s.cfg, projectAction("create", req.Name))
			}
			return a.print(p, func(w io.Writer) { a.projectTable(w, *p) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ClusterName, "cluster", "", "the cluster whose namespaces the project groups (required)")
	f.StringVar(&req.DisplayName, "display-name", "", "a human-friendly name")
	f.StringVar(&req.Description, "description", "", "what the project is for")
	return cmd
}

func newProjectsDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "delete NAME", Short: "Delete a project (its namespaces stay, outside any project)", Args: needArgs("NAME"),
		Long: `Delete a project. Its namespaces stay in the cluster, outside any project, and
the project's members lose their access to them.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := s.client.DeleteProject(cmd.Context(), args[0]); err != nil {
				return explain(err, s.cfg, projectAction("delete", args[0]))
			}
			fmt.Fprintf(a.stdout, "project %s deleted\n", args[0])
			return nil
		},
	}
}
