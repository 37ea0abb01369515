package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newMembersRemoveCommand(a *app) *cobra.Command {
	var m memberFlags
	cmd := &cobra.Command{
		Use:   "remove (NAME | (--cluster NAME | --project NAME) --role ROLE (--user USERNAME | --group PRINCIPAL))",
		Short: "Remove a member: by its NAME, or by where, which role and to whom",
		Long: `Remove a member: by its NAME as ` + "`herdctl members list`" + ` shows it, or by the
flags that made it, which remove every member of the cluster or project
with that role and user or group.`,
		Example: `  herdctl members remove crtb-x7k2p
  herdctl members remove --cluster prod --role cluster-member --user alice`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("too many arguments %q: usage: %s", args[1:], cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			flagged := m.cluster != "" || m.project != "" || m.role != "" || m.user != "" || m.group != ""
			switch {
			case len(args) == 1 && flagged:
				return errors.New("give the member's NAME or the flags --cluster/--project, --role and --user/--group, not both")
			case len(args) == 0 && !flagged:
				return errors.New("missing NAME: give the member's NAME (see `herdctl members list --cluster NAME`) or --cluster/--project, --role and --user/--group")
			}
			if flagged {
				if err := m.checkBinding(); err != nil {
					return err
				}
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			names := args
			if flagged {
				if names, err = a.findMembers(cmd, s, &m); err != nil {
					return err
				}
			}
			for _, name := range names {
				if err := a.removeMember(cmd, s, name); err != nil {
					return err
				}
			}
			return nil
		},
	}
	m.addBindingFlags(cmd)
	return cmd
}

// findMembers names the members of m's scope that bind m's role to m's
// user or group.
func (a *app) findMembers(cmd *cobra.Command, s *session, m *memberFlags) ([]string, error) {
	list, err := a.listMembers(cmd, s, m)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, member := range list.Items {
		if m.matches(member) {
			names = append(names, member.Name)
		}
	}
	if len(names) == 0 {
		who := "user " + m.user
		if m.group != "" {
			who = "group " + m.group
		}
		return nil, fmt.Errorf("%s has no role %s in %s %s: see `herdctl members list --%s %s`",
			who, m.role, m.scopeKind(), m.scopeName(), m.scopeKind(), m.scopeName())
	}
	return names, nil
}

// matches reports whether member is the binding the flags describe.
func (m *memberFlags) matches(member herdapi.Member) bool {
	switch {
	case member.RoleTemplate != m.role:
		return false
	case m.project != "" && member.ProjectName != m.project:
		return false
	case m.cluster != "" && (member.ClusterName != m.cluster || member.ProjectName != ""):
		return false
	case m.group != "":
		return member.Group == m.group
	}
	return member.Group == "" && (member.Username == m.user || member.UserName == m.user)
}

func (a *app) removeMember(cmd *cobra.Command, s *session, name string) error {
	err := s.client.RemoveMember(cmd.Context(), name)
	var apiErr *herdclient.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
		return hint(err, "member %s not found: see `herdctl members list --cluster NAME` or `herdctl members list --project NAME`", name)
	}
	if err != nil {
		return explain(err, s.cfg, action{what: "remove member " + name})
	}
	fmt.Fprintf(a.stdout, "member %s removed\n", name)
	return nil
}
