package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdclient"
)

func newLogoutCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the token and remove it from the config",
		Args:  needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Token == "" {
				fmt.Fprintln(a.stdout, "Not logged in")
				return nil
			}
			err = a.revokeOwnToken(cmd, cfg)
			cfg.Token, cfg.TokenName = "", ""
			if serr := saveConfig(path, cfg); serr != nil {
				return serr
			}
			switch {
			case err != nil && unreachable(err):
				a.warnf("server %s is unreachable: removed the token from %s only; it stays valid on the server until it expires", cfg.Server, path)
			case err != nil:
				a.warnf("%v; removed the token from %s only: it stays valid on the server until it expires", err, path)
			}
			fmt.Fprintf(a.stdout, "Logged out of %s\n", cfg.Server)
			return nil
		},
	}
}

// revokeOwnToken revokes the config's token; a token the server refuses
// is gone already.
func (a *app) revokeOwnToken(cmd *cobra.Command, cfg *fileConfig) error {
	client, err := newClient(cfg, cfg.Token)
	if err != nil {
		return err
	}
	err = client.Logout(cmd.Context())
	var apiErr *herdclient.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusUnauthorized {
		return nil
	}
	return explain(err, cfg, action{what: "revoke the token"})
}
