package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// How the users of an identity provider log in.
const (
	providerLocal = "local"
	flowPassword  = "password" // herdctl sends a username and password
	flowRedirect  = "redirect" // the user logs in at the provider in a browser
)

// loginFlow says how users of provider log in, and whether herdctl knows it.
func loginFlow(provider string) (string, bool) {
	switch provider {
	case providerLocal, "openldap", "activedirectory":
		return flowPassword, true
	case "github", "oidc", "saml":
		return flowRedirect, true
	}
	return "", false
}

type loginOptions struct {
	provider      string
	username      string
	passwordStdin bool
	caChecksum    string
	insecure      bool
	noBrowser     bool
	timeout       time.Duration
}

func newLoginCommand(a *app) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login SERVER [--provider PROVIDER] [--username USERNAME --password-stdin] [--ca-checksum SHA256 | --insecure-skip-tls-verify]",
		Short: "Log in to a Herd server and save the token in the config",
		Long: `Log in to a Herd server and save the token in ~/.herd/config (or $HERDCONFIG).

--provider is who checks your identity:
  local (default), openldap, activedirectory
      with --username and a password: the first line of stdin with
      --password-stdin, else a prompt on the terminal.
  github, oidc, saml
      in a browser on this machine: herdctl opens the provider's login page
      (with $BROWSER, else xdg-open) and waits up to --timeout for the browser
      to come back to herdctl on 127.0.0.1. With --no-browser, or when no
      browser opens, it prints the URL to open yourself.

--ca-checksum pins the server's CA: herdctl fetches it from SERVER/cacerts,
refuses it unless its sha256 is the value given, and trusts only that CA from
then on. Without it herdctl trusts the CA saved by an earlier login to the same
server, or else the system's roots.`,
		Example: `  echo "$PASSWORD" | herdctl login https://herd.example.com --username alice --password-stdin --ca-checksum 3f1c...
  herdctl login https://herd.example.com --provider openldap --username alice
  herdctl login https://herd.example.com --provider github --ca-checksum 3f1c...`,
		Args: needArgs("SERVER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.login(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.provider, "provider", providerLocal, "the identity `PROVIDER`: local, openldap, activedirectory, github, oidc or saml")
	f.StringVarP(&o.username, "username", "u", "", "the `USERNAME` to log in as (password providers)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin (password providers)")
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the login URL instead of opening a browser (github, oidc, saml)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the browser login (github, oidc, saml)")
	f.StringVar(&o.caChecksum, "ca-checksum", "", "sha256 of the server's CA bundle, as your administrator gives it")
	f.BoolVar(&o.insecure, "insecure-skip-tls-verify", false, "do not verify the server's certificate (unsafe: the password can be intercepted)")
	cmd.MarkFlagsMutuallyExclusive("ca-checksum", "insecure-skip-tls-verify")
	return cmd
}

// check refuses, before any request, flags that do not fit the provider's
// flow, and returns the flow.
func (o *loginOptions) check(flags *pflag.FlagSet) (string, error) {
	flow, ok := loginFlow(o.provider)
	switch {
	case !ok:
		return "", fmt.Errorf("unknown --provider %q: use local, openldap or activedirectory (username and password) or github, oidc or saml (browser)", o.provider)
	case flow == flowRedirect && (o.username != "" || o.passwordStdin):
		return "", fmt.Errorf("--provider %s logs in with a browser: drop --username and --password-stdin", o.provider)
	case flow == flowRedirect && o.timeout <= 0:
		return "", fmt.Errorf("--timeout %s is not positive: give how long to wait for the browser, such as --timeout 5m", o.timeout)
	case flow == flowPassword && o.username == "":
		return "", fmt.Errorf("--username is required to log in with %s: give --username USERNAME (or --provider github, oidc or saml to log in with a browser)", o.provider)
	case flow == flowPassword && (flags.Changed("no-browser") || flags.Changed("timeout")):
		return "", fmt.Errorf("--no-browser and --timeout are for browser logins (--provider github, oidc or saml): %s takes --username and --password-stdin", o.provider)
	}
	return flow, nil
}

func (a *app) login(cmd *cobra.Command, serverArg string, o loginOptions) error {
	ctx := cmd.Context()
	flow, err := o.check(cmd.Flags())
	if err != nil {
		return err
	}
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
	// Settle trust before asking for the password or opening a browser: a
	// wrong checksum or an unreachable server should not cost the user either.
	cfg, err := a.trust(ctx, server, o, old)
	if err != nil {
		return err
	}
	var resp *herdapi.TokenResponse
	if flow == flowRedirect {
		resp, err = a.browserLogin(ctx, cfg, o)
	} else {
		resp, err = a.passwordLogin(ctx, cfg, o)
	}
	if err != nil {
		return err
	}
	cfg.Token, cfg.TokenName = resp.Token, resp.Info.Name
	if cfg.Username == "" {
		cfg.Username = cmp.Or(resp.Info.Username, resp.Info.UserName)
	}
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Logged in to %s as %s\n", server, cfg.Username)
	return nil
}

// trust returns the new config with how to trust server: the CA pinned by
// --ca-checksum, no verification, or what the last login to server chose.
func (a *app) trust(ctx context.Context, server string, o loginOptions, old *fileConfig) (*fileConfig, error) {
	cfg := &fileConfig{Server: server, Username: o.username}
	if o.provider != providerLocal {
		cfg.Provider = o.provider
	}
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
