package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newWhoamiCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the logged-in user",
		Args:  needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			me, err := s.client.Me(cmd.Context())
			if err != nil {
				return explain(err, s.cfg, action{what: "get the current user"})
			}
			return a.print(me, func(w io.Writer) {
				trust := "CA pinned at login"
				switch {
				case s.cfg.InsecureSkipTLSVerify:
					trust = "NOT VERIFIED (--insecure-skip-tls-verify)"
				case s.cfg.CACert == "":
					trust = "system roots"
				}
				fmt.Fprintf(w, "Username:\t%s\n", me.Username)
				fmt.Fprintf(w, "Name:\t%s\n", me.Name)
				fmt.Fprintf(w, "Display name:\t%s\n", me.DisplayName)
				fmt.Fprintf(w, "Global roles:\t%s\n", strings.Join(me.GlobalRoles, ", "))
				list(w, "Groups", me.Groups)
				fmt.Fprintf(w, "Server:\t%s\n", s.cfg.Server)
				fmt.Fprintf(w, "Certificate:\t%s\n", trust)
			})
		},
	}
}
