package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"

	"herd.dev/herd/internal/herdapi"
)

func newRolesCommand(a *app) *cobra.Command {
	return group("roles", "List global roles and the role templates members are bound to",
		newRolesListCommand(a),
		newRolesShowCommand(a),
	)
}

func newRolesListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List global roles and role templates", Args: needArgs(),
		Long: `List global roles (context global) and role templates (context cluster or
project: what ` + "`herdctl members add --role`" + ` binds in a cluster or a project).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListRoles(cmd.Context())
			if err != nil {
				return explain(err, s.cfg, action{what: "list roles"})
			}
			if list.Items == nil {
				list.Items = []herdapi.Role{}
			}
			return a.print(list, func(w io.Writer) {
				row(w, "NAME", "CONTEXT", "BUILTIN", "INHERITS", "READY")
				for _, r := range list.Items {
					row(w, r.Name, r.Context, fmt.Sprint(r.Builtin), strings.Join(r.Inherits, ","), r.Ready)
				}
			})
		},
	}
}

func newRolesShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "show NAME", Aliases: []string{"get"}, Short: "Show a role with its own and its effective rules", Args: needArgs("NAME"),
		Long: `Show a role: a role template, else a global role of that name. Its effective
rules are its own and those of every role template it inherits. In the
rules, "core" is the core API group ("") and "*" means all.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			r, err := s.client.GetRole(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "get role " + args[0], kind: "role", name: args[0]})
			}
			return a.print(r, func(w io.Writer) { roleDetail(w, *r) })
		},
	}
}

func roleDetail(w io.Writer, r herdapi.Role) {
	fields(w, "Name", r.Name, "Display name", r.DisplayName, "Context", r.Context,
		"Builtin", fmt.Sprint(r.Builtin), "Inherits", strings.Join(r.Inherits, ", "), "Ready", r.Ready)
	if r.Message != "" {
		fields(w, "Message", r.Message)
	}
	ruleTable(w, "Rules", r.Rules)
	ruleTable(w, "Effective rules", r.EffectiveRules)
}

// ruleTable shows policy rules one a row, under a title.
func ruleTable(w io.Writer, title string, rules []rbacv1.PolicyRule) {
	fmt.Fprintln(w)
	if len(rules) == 0 {
		fmt.Fprintf(w, "%s: none\n", title)
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	row(w, "VERBS", "API GROUPS", "RESOURCES", "RESOURCE NAMES / NON-RESOURCE URLS")
	for _, rule := range rules {
		groups := make([]string, len(rule.APIGroups))
		for i, g := range rule.APIGroups {
			groups[i] = g
			if g == "" {
				groups[i] = "core"
			}
		}
		names := append(append([]string{}, rule.ResourceNames...), rule.NonResourceURLs...)
		row(w, strings.Join(rule.Verbs, ","), strings.Join(groups, ","), strings.Join(rule.Resources, ","), strings.Join(names, ","))
	}
}
