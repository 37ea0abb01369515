package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newTokensCommand(a *app) *cobra.Command {
	return group("tokens", "List, create and revoke API tokens",
		newTokensListCommand(a),
		newTokensCreateCommand(a),
		newTokensRevokeCommand(a),
	)
}

func newTokensListCommand(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use: "list [--all]", Aliases: []string{"ls"}, Short: "List your tokens, or everyone's with --all (admin)", Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListTokens(cmd.Context(), all)
			if err != nil {
				return explain(err, s.cfg, action{what: "list tokens"})
			}
			if list.Items == nil {
				list.Items = []herdapi.TokenInfo{}
			}
			return a.print(list, func(w io.Writer) {
				row(w, "NAME", "USER", "KIND", "CLUSTER", "DESCRIPTION", "EXPIRES", "LAST USED", "CURRENT")
				now := a.now()
				for _, t := range list.Items {
					user, expires, lastUsed, current := t.Username, until(t.ExpiresAt, now), "never", ""
					if user == "" {
						user = t.UserName
					}
					if t.Expired {
						expires = "expired"
					}
					if !t.Enabled {
						expires = "disabled"
					}
					if t.LastUsedAt != nil {
						lastUsed = age(*t.LastUsedAt, now) + " ago"
					}
					if t.Current {
						current = "*"
					}
					row(w, t.Name, user, t.Kind, t.ClusterName, t.Description, expires, lastUsed, current)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every user's tokens (admin)")
	return cmd
}

func newTokensCreateCommand(a *app) *cobra.Command {
	var req herdapi.TokenCreateRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create [--kind kubeconfig|session] [--ttl DURATION] [--description TEXT] [--cluster NAME]",
		Short: "Create a token for yourself and print it once",
		Long: `Create a token for yourself. The token alone goes to stdout, once: store it
now, it cannot be shown again. --ttl 0 (the default) means the kind's default
lifetime.`,
		Example: `  TOKEN=$(herdctl tokens create --ttl 720h --description ci)`,
		Args:    needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Kind != herdapi.KindKubeconfig && req.Kind != herdapi.KindSession {
				return fmt.Errorf("unknown token kind %q: use %s or %s", req.Kind, herdapi.KindKubeconfig, herdapi.KindSession)
			}
			if ttl < 0 {
				return fmt.Errorf("--ttl %s is negative", ttl)
			}
			req.TTLSeconds = int64(math.Ceil(ttl.Seconds()))
			s, err := a.session()
			if err != nil {
				return err
			}
			resp, err := s.client.CreateToken(cmd.Context(), req)
			if err != nil {
				return explain(err, s.cfg, action{what: "create a token"})
			}
			if !a.tableMode() {
				return a.print(resp, nil)
			}
			fmt.Fprintln(a.stdout, resp.Token)
			fmt.Fprintf(a.stderr, "Created token %s (%s, expires %s). It is shown only once: store it now.\n",
				resp.Info.Name, resp.Info.Kind, until(resp.Info.ExpiresAt, a.now()))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Kind, "kind", herdapi.KindKubeconfig, "kubeconfig (for kubectl and scripts) or session")
	f.DurationVar(&ttl, "ttl", 0, "lifetime such as 720h; 0 means the kind's default")
	f.StringVar(&req.Description, "description", "", "what the token is for")
	f.StringVar(&req.ClusterName, "cluster", "", "limit the token to one cluster")
	return cmd
}

func newTokensRevokeCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "revoke NAME", Short: "Revoke a token (yours, or anyone's as admin)", Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			name := args[0]
			if err := s.client.RevokeToken(cmd.Context(), name); err != nil {
				return explain(err, s.cfg, action{what: "revoke token " + name, kind: "token", name: name})
			}
			fmt.Fprintf(a.stdout, "token %s revoked\n", name)
			if name == s.cfg.TokenName {
				s.cfg.Token, s.cfg.TokenName = "", ""
				if err := saveConfig(s.path, s.cfg); err != nil {
					return err
				}
				fmt.Fprintln(a.stderr, "That was herdctl's own token: you are logged out.")
			}
			return nil
		},
	}
}
