package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

type loginOptions struct {
	username      string
	passwordStdin bool
	caChecksum    string
	insecure      bool
}

func newLoginCommand(a *app) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login SERVER --username USERNAME [--password-stdin] [--ca-checksum SHA256 | --insecure-skip-tls-verify]",
		Short: "Log in to a Herd server and save the token in the config",
		Long: `Log in to a Herd server and save the token in ~/.herd/config (or $HERDCONFIG).

--ca-checksum pins the server's CA: herdctl fetches it from SERVER/cacerts,
refuses it unless its sha256 is the value given, and trusts only that CA from
then on. Without it herdctl trusts the CA saved by an earlier login to the same
server, or else the system's roots.`,
		Example: `  echo "$PASSWORD" | herdctl login https://herd.example.com --username alice --password-stdin --ca-checksum 3f1c...`,
		Args:    needArgs("SERVER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.login(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.username, "username", "u", "", "the user to log in as (required)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringVar(&o.caChecksum, "ca-checksum", "", "sha256 of the server's CA bundle, as your administrator gives it")
	f.BoolVar(&o.insecure, "insecure-skip-tls-verify", false, "do not verify the server's certificate (unsafe: the password can be intercepted)")
	_ = cmd.MarkFlagRequired("username")
	cmd.MarkFlagsMutuallyExclusive("ca-checksum", "insecure-skip-tls-verify")
	return cmd
}

func (a *app) login(cmd *cobra.Command, serverArg string, o loginOptions) error {
	ctx := cmd.Context()
	server, err := normalizeServer(serverArg)
	if err != nil {
		return err
	}
	old, path, err := a.loadConfig()
	if err != nil {
		if path == "" {
			return err
		}
		a.warnf("%v; logging in replaces it", err)
		old = &fileConfig{}
	}
	// Settle trust before asking for the password: a wrong checksum or an
	// unreachable server should not cost the user a prompt.
	cfg, err := a.trust(ctx, server, o, old)
	if err != nil {
		return err
	}
	password, err := a.readSecret(o.passwordStdin, "password", false)
	if err != nil {
		return err
	}
	client, err := newClient(cfg, "")
	if err != nil {
		return err
	}
	resp, err := client.Login(ctx, herdapi.LoginRequest{
		Username: o.username, Password: password, Kind: herdapi.KindSession, Description: "herdctl login",
	})
	var apiErr *herdclient.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusUnauthorized:
		return hint(err, "login failed: wrong username or password (or the user is disabled)")
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusTooManyRequests:
		return hint(err, "too many failed logins: try again in %s", retryIn(apiErr))
	case err != nil:
		return explain(err, cfg, action{what: "log in to " + server})
	}
	cfg.Token, cfg.TokenName = resp.Token, resp.Info.Name
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Logged in to %s as %s\n", server, o.username)
	return nil
}

// trust returns the new config with how to trust server: the CA pinned by
// --ca-checksum, no verification, or what the last login to server chose.
func (a *app) trust(ctx context.Context, server string, o loginOptions, old *fileConfig) (*fileConfig, error) {
	cfg := &fileConfig{Server: server, Username: o.username}
	switch {
	case o.caChecksum != "":
		pem, err := herdclient.FetchCA(ctx, server, o.caChecksum)
		if errors.Is(err, herdclient.ErrCAChecksumMismatch) {
			return nil, hint(err, "the CA of %s does not match --ca-checksum %s: check the value your administrator gave you", server, o.caChecksum)
		}
		if err != nil {
			return nil, explain(err, cfg, action{what: "fetch the CA of " + server})
		}
		cfg.CACert = string(pem)
	case o.insecure:
		cfg.InsecureSkipTLSVerify = true
	case old.Server == server:
		cfg.CACert, cfg.InsecureSkipTLSVerify = old.CACert, old.InsecureSkipTLSVerify
	}
	if cfg.InsecureSkipTLSVerify {
		a.warnf("the certificate of %s is not verified: anyone on the way can read your password and token; use --ca-checksum instead", server)
	}
	return cfg, nil
}

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
				fmt.Fprintf(w, "Server:\t%s\n", s.cfg.Server)
				fmt.Fprintf(w, "Certificate:\t%s\n", trust)
			})
		},
	}
}
