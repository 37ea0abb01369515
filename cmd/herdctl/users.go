package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newUsersCommand(a *app) *cobra.Command {
	return group("users", "Manage users: local ones, and those of identity providers",
		newUsersListCommand(a),
		newUsersGetCommand(a),
		newUsersCreateCommand(a),
		newUsersEnableCommand(a, "enable", true),
		newUsersEnableCommand(a, "disable", false),
		newUsersSetPasswordCommand(a),
		newUsersRefreshCommand(a),
		newUsersDeleteCommand(a),
	)
}

func userAction(verb, username string) action {
	return action{what: verb + " user " + username, kind: "user", name: username}
}

func newUsersListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List users (admin)", Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListUsers(cmd.Context())
			if err != nil {
				return explain(err, s.cfg, action{what: "list users"})
			}
			if list.Items == nil {
				list.Items = []herdapi.User{}
			}
			return a.print(list, func(w io.Writer) { a.userTable(w, list.Items...) })
		},
	}
}

// userTable shows users one a line; GROUPS counts the groups that their
// identity provider reported (see `users get` for the ids).
func (a *app) userTable(w io.Writer, users ...herdapi.User) {
	row(w, "USERNAME", "NAME", "DISPLAY NAME", "ENABLED", "GLOBAL ROLES", "GROUPS", "AGE")
	now := a.now()
	for _, u := range users {
		row(w, u.Username, u.Name, u.DisplayName, fmt.Sprint(u.Enabled), strings.Join(u.GlobalRoles, ","), fmt.Sprint(len(u.Groups)), age(u.CreatedAt, now))
	}
}

// userDetail shows one user with its principals and groups, one a line.
func (a *app) userDetail(w io.Writer, u herdapi.User) {
	fields(w, "Username", u.Username, "Name", u.Name, "Display name", u.DisplayName, "Enabled", fmt.Sprint(u.Enabled))
	list(w, "Global roles", u.GlobalRoles)
	list(w, "Principals", u.PrincipalIDs)
	list(w, "Groups", u.Groups)
	fields(w, "Age", age(u.CreatedAt, a.now()))
}

func newUsersGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "get USERNAME", Short: "Show one user with its principals and groups", Args: needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			u, err := s.client.GetUser(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, userAction("get", args[0]))
			}
			return a.print(u, func(w io.Writer) { a.userDetail(w, *u) })
		},
	}
}

func newUsersCreateCommand(a *app) *cobra.Command {
	var req herdapi.UserCreateRequest
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create USERNAME [--display-name TEXT] [--password-stdin] [--global-role ROLE ...]",
		Short: "Create a local user (admin)",
		Long: `Create a local user (admin). The password is the first line of stdin with
--password-stdin, or is prompted for on a terminal. Without --global-role the
user gets the roles marked as defaults for new users.`,
		Args: needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			req.Username = args[0]
			if req.Password, err = a.readSecret(passwordStdin, "password", true); err != nil {
				return err
			}
			u, err := s.client.CreateUser(cmd.Context(), req)
			if err != nil {
				return explain(err, s.cfg, userAction("create", req.Username))
			}
			return a.print(u, func(w io.Writer) { a.userTable(w, *u) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.DisplayName, "display-name", "", "a human-friendly name")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringSliceVar(&req.GlobalRoles, "global-role", nil, "a global role to bind (repeat for more)")
	return cmd
}

func newUsersEnableCommand(a *app, verb string, enabled bool) *cobra.Command {
	short := "Let a user log in again (admin)"
	if !enabled {
		short = "Stop a user from logging in and using tokens (admin)"
	}
	return &cobra.Command{
		Use: verb + " USERNAME", Short: short, Args: needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if _, err := s.client.UpdateUser(cmd.Context(), args[0], herdapi.UserUpdateRequest{Enabled: &enabled}); err != nil {
				return explain(err, s.cfg, userAction(verb, args[0]))
			}
			fmt.Fprintf(a.stdout, "user %s %sd\n", args[0], verb)
			return nil
		},
	}
}

func newUsersSetPasswordCommand(a *app) *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "set-password USERNAME [--password-stdin]",
		Short: "Set a user's password (admin), or change your own",
		Long: `Set a user's password (admin), or change your own.

With --password-stdin the new password is the first line of stdin; when you
change your own password, stdin holds two lines: the current password, then
the new one. Without --password-stdin herdctl prompts on the terminal.`,
		Example: `  printf '%s\n%s\n' "$CURRENT" "$NEW" | herdctl users set-password alice --password-stdin   # as alice`,
		Args:    needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			username := args[0]
			self, err := s.isSelf(cmd, username)
			if err != nil {
				return err
			}
			var req herdapi.PasswordRequest
			if self {
				if req.CurrentPassword, err = a.readSecret(passwordStdin, "current password", false); err != nil {
					return err
				}
			}
			if req.Password, err = a.readSecret(passwordStdin, "new password", true); err != nil {
				return err
			}
			err = s.client.SetPassword(cmd.Context(), username, req)
			var apiErr *herdclient.APIError
			if self && errors.As(err, &apiErr) && apiErr.Code == http.StatusForbidden {
				return hint(err, "password not changed: the current password is wrong")
			}
			if err != nil {
				return explain(err, s.cfg, userAction("set the password of", username))
			}
			fmt.Fprintf(a.stdout, "password of user %s changed\n", username)
			return nil
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password(s) from stdin, one a line")
	return cmd
}

// isSelf reports whether username is the logged-in user; the config knows
// since login, the server otherwise.
func (s *session) isSelf(cmd *cobra.Command, username string) (bool, error) {
	if s.cfg.Username != "" {
		return strings.EqualFold(s.cfg.Username, username), nil
	}
	me, err := s.client.Me(cmd.Context())
	if err != nil {
		return false, explain(err, s.cfg, action{what: "get the current user"})
	}
	return strings.EqualFold(me.Username, username), nil
}

func newUsersDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "delete USERNAME", Short: "Delete a user (admin)", Args: needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := s.client.DeleteUser(cmd.Context(), args[0]); err != nil {
				return explain(err, s.cfg, userAction("delete", args[0]))
			}
			fmt.Fprintf(a.stdout, "user %s deleted\n", args[0])
			return nil
		},
	}
}
