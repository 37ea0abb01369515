package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newAuthCommand(a *app) *cobra.Command {
	return group("auth", "Show and configure the identity providers users log in with",
		newAuthShowCommand(a),
		newAuthEnableCommand(a),
		newAuthDisableCommand(a),
	)
}

func newAuthShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show [PROVIDER]",
		Short: "List the identity providers users can log in with, or show one's settings (admin)",
		Long: `Without PROVIDER, list the identity providers users can log in with: local
and the enabled ones. With PROVIDER (admin), show its settings and which
secrets are set; secret values are never shown.

For github, oidc and saml, the callback URL is the one to register at the provider,
as herdctl reaches the server (a server with another public address uses that).`,
		Example: `  herdctl auth show
  herdctl auth show github -o yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("too many arguments %q: usage: %s", args[1:], cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return a.listProviders(cmd, s)
			}
			p, err := s.client.GetProvider(cmd.Context(), args[0])
			if err != nil {
				return explainProvider(err, s.cfg, "get identity provider", args[0])
			}
			return a.print(p, func(w io.Writer) { providerDetail(w, s.cfg, *p) })
		},
	}
}

func (a *app) listProviders(cmd *cobra.Command, s *session) error {
	list, err := s.client.ListProviders(cmd.Context())
	if err != nil {
		return explain(err, s.cfg, action{what: "list identity providers"})
	}
	if list.Items == nil {
		list.Items = []herdapi.Provider{}
	}
	return a.print(list, func(w io.Writer) {
		row(w, "TYPE", "ENABLED", "FLOW")
		for _, p := range list.Items {
			row(w, p.Type, fmt.Sprint(p.Enabled), p.Flow)
		}
	})
}

// providerDetail shows a provider's fields, its settings one a line and
// the names of the secrets that are set.
func providerDetail(w io.Writer, cfg *fileConfig, p herdapi.Provider) {
	fields(w, "Type", p.Type, "Enabled", fmt.Sprint(p.Enabled), "Flow", p.Flow)
	if p.Flow == flowRedirect {
		fields(w, "Callback URL", callbackURL(cfg, p.Type))
	}
	var settings []string
	for _, k := range slices.Sorted(maps.Keys(p.Settings)) {
		v := p.Settings[k]
		if n := strings.Count(strings.TrimRight(v, "\n"), "\n"); n > 0 {
			v = fmt.Sprintf("(%d lines)", n+1)
		}
		settings = append(settings, k+"="+v)
	}
	list(w, "Settings", settings)
	list(w, "Secrets set", p.SecretKeys)
}

// callbackURL is where a redirect provider sends the browser back, as the
// server builds it from the address herdctl uses.
func callbackURL(cfg *fileConfig, provider string) string {
	return cfg.Server + "/v1/auth/callback/" + url.PathEscape(provider)
}

// explainProvider explains the errors of a request about one provider.
func explainProvider(err error, cfg *fileConfig, what, provider string) error {
	var apiErr *herdclient.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case http.StatusNotFound:
			return hint(err, "identity provider %s is not configured: configure it with `herdctl auth enable %s --set KEY=VALUE ...`", provider, provider)
		case http.StatusUnprocessableEntity:
			return hint(err, "failed to %s %s: %s", what, provider, apiMessage(apiErr))
		}
	}
	return explain(err, cfg, action{what: what + " " + provider})
}
