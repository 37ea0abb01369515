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

func newMembersCommand(a *app) *cobra.Command {
	return group("members", "Bind role templates to users and groups in clusters and projects",
		newMembersListCommand(a),
		newMembersAddCommand(a),
		newMembersRemoveCommand(a),
	)
}

// memberFlags are the flags that name a binding: where, which role, to whom.
type memberFlags struct {
	cluster, project string
	role             string
	user, group      string
}

func (m *memberFlags) addScopeFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&m.cluster, "cluster", "", "a cluster's members (exclusive with --project)")
	f.StringVar(&m.project, "project", "", "a project's members (exclusive with --cluster)")
}

func (m *memberFlags) addBindingFlags(cmd *cobra.Command) {
	m.addScopeFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&m.role, "role", "", "the role template, of context cluster or project (see: herdctl roles list)")
	f.StringVar(&m.user, "user", "", "a Herd user's username (exclusive with --group)")
	f.StringVar(&m.group, "group", "", "the `PRINCIPAL` id of a group (exclusive with --user; find it with: herdctl principals search NAME)")
}

// checkScope wants exactly one of --cluster and --project.
func (m *memberFlags) checkScope() error {
	switch {
	case m.cluster == "" && m.project == "":
		return errors.New("--cluster or --project is required: give --cluster NAME for a cluster's members or --project NAME for a project's")
	case m.cluster != "" && m.project != "":
		return errors.New("--cluster and --project are exclusive: give --cluster NAME for a cluster's members or --project NAME for a project's")
	}
	return nil
}

// checkBinding wants a scope, --role and exactly one of --user and --group.
func (m *memberFlags) checkBinding() error {
	if err := m.checkScope(); err != nil {
		return err
	}
	switch {
	case m.role == "":
		return errors.New("--role is required: see `herdctl roles list` for the role templates of context " + m.scopeKind())
	case m.user == "" && m.group == "":
		return errors.New("--user or --group is required: give --user USERNAME for a Herd user or --group PRINCIPAL for a group (find it with `herdctl principals search NAME`)")
	case m.user != "" && m.group != "":
		return errors.New("--user and --group are exclusive: give --user USERNAME for a Herd user or --group PRINCIPAL for a group")
	}
	return nil
}

// scopeKind and scopeName say where the binding is: cluster prod, project web.
func (m *memberFlags) scopeKind() string {
	if m.project != "" {
		return herdapi.ContextProject
	}
	return herdapi.ContextCluster
}

func (m *memberFlags) scopeName() string { return m.cluster + m.project }

func (m *memberFlags) request() herdapi.MemberRequest {
	return herdapi.MemberRequest{ClusterName: m.cluster, ProjectName: m.project, RoleTemplate: m.role, Username: m.user, Group: m.group}
}

func newMembersListCommand(a *app) *cobra.Command {
	var m memberFlags
	cmd := &cobra.Command{
		Use: "list (--cluster NAME | --project NAME)", Aliases: []string{"ls"}, Short: "List the members of a cluster or a project", Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.checkScope(); err != nil {
				return err
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := a.listMembers(cmd, s, &m)
			if err != nil {
				return err
			}
			if a.tableMode() && len(list.Items) == 0 {
				fmt.Fprintf(a.stderr, "No members of %s %s: add one with `herdctl members add --%s %s --role ROLE --user USERNAME`\n",
					m.scopeKind(), m.scopeName(), m.scopeKind(), m.scopeName())
				return nil
			}
			return a.print(list, func(w io.Writer) { memberTable(w, list.Items...) })
		},
	}
	m.addScopeFlags(cmd)
	return cmd
}

// listMembers gets the members of the scope m names.
func (a *app) listMembers(cmd *cobra.Command, s *session, m *memberFlags) (*herdapi.MemberList, error) {
	list, err := s.client.ListClusterMembers(cmd.Context(), m.cluster)
	if m.project != "" {
		list, err = s.client.ListProjectMembers(cmd.Context(), m.project)
	}
	if err != nil {
		kind, name := m.scopeKind(), m.scopeName()
		return nil, explain(err, s.cfg, action{what: "list the members of " + kind + " " + name, kind: kind, name: name})
	}
	if list.Items == nil {
		list.Items = []herdapi.Member{}
	}
	return list, nil
}

func memberTable(w io.Writer, members ...herdapi.Member) {
	row(w, "NAME", "ROLE", "USER/GROUP", "SCOPE", "READY")
	for _, m := range members {
		row(w, m.Name, m.RoleTemplate, memberSubject(m), memberScope(m), m.Ready)
	}
}

// memberSubject is "user alice" or "group PRINCIPAL".
func memberSubject(m herdapi.Member) string {
	if m.Group != "" {
		return "group " + m.Group
	}
	if m.Username != "" {
		return "user " + m.Username
	}
	return "user " + m.UserName
}

// memberScope is "cluster prod" or "project web".
func memberScope(m herdapi.Member) string {
	if m.ProjectName != "" {
		return "project " + m.ProjectName
	}
	return "cluster " + m.ClusterName
}

func newMembersAddCommand(a *app) *cobra.Command {
	var m memberFlags
	cmd := &cobra.Command{
		Use:   "add (--cluster NAME | --project NAME) --role ROLE (--user USERNAME | --group PRINCIPAL)",
		Short: "Bind a role template to a user or a group in a cluster or a project",
		Long: `Bind a role template to a user or a group in a cluster or a project. You may
grant only what you hold yourself.

--group takes a group principal id of an identity provider, such as
github_team://1234 or openldap_group://cn=devs,ou=groups,dc=example,dc=org:
find it with ` + "`herdctl principals search NAME`" + `. Groups can be bound before
any of their members logs in.`,
		Example: `  herdctl members add --cluster prod --role cluster-member --user alice
  herdctl principals search devs
  herdctl members add --project web --role project-owner --group github_team://1234`,
		Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.checkBinding(); err != nil {
				return err
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			member, err := s.client.AddMember(cmd.Context(), m.request())
			var apiErr *herdclient.APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
				if apiErr.Message != "" { // the server names what does not exist and where to look
					return hint(err, "failed to add the member: %s", apiErr.Message)
				}
				return hint(err, "failed to add the member: %s: check %s %s (`herdctl %ss list`), role %s (`herdctl roles list`) and the user or group",
					apiMessage(apiErr), m.scopeKind(), m.scopeName(), m.scopeKind(), m.role)
			}
			if err != nil {
				return explain(err, s.cfg, action{what: fmt.Sprintf("bind role %s in %s %s", m.role, m.scopeKind(), m.scopeName())})
			}
			return a.print(member, func(w io.Writer) { memberTable(w, *member) })
		},
	}
	m.addBindingFlags(cmd)
	return cmd
}

// apiMessage is the server's message, or the status text.
func apiMessage(e *herdclient.APIError) string {
	if e.Message != "" {
		return e.Message
	}
	return http.StatusText(e.Code)
}
