package main

import (
	"errors"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdclient"
)

func newUsersRefreshCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh USERNAME",
		Short: "Read a user's groups from their identity provider now, and show them (admin)",
		Long: `Read a user's groups from their identity provider now, and show them (admin).
Herd refreshes groups on its own from time to time; refresh after changing a
user's groups at the provider to apply the change at once. A user the provider
no longer has loses all tokens. Local users have no provider groups.`,
		Args: needArgs("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			u, err := s.client.RefreshUser(cmd.Context(), args[0])
			var apiErr *herdclient.APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusServiceUnavailable {
				return hint(err, "failed to refresh user %s: %s", args[0], apiMessage(apiErr))
			}
			if err != nil {
				return explain(err, s.cfg, userAction("refresh", args[0]))
			}
			return a.print(u, func(w io.Writer) {
				fields(w, "Username", u.Username)
				list(w, "Groups", u.Groups)
			})
		},
	}
}
