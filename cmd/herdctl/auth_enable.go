package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newAuthEnableCommand(a *app) *cobra.Command {
	var p providerFlags
	cmd := &cobra.Command{
		Use:   "enable PROVIDER [--set KEY=VALUE ...] [--set-file KEY=PATH ...] [--unset KEY ...] [--secret KEY ...] [--secret-file KEY=PATH ...]",
		Short: "Configure an identity provider and let users log in with it (admin)",
		Long: `Configure an identity provider (openldap, activedirectory, github, oidc, saml) and
let users log in with it (admin). The server checks the settings first (for
LDAP it binds with the service account) and refuses ones that do not work.

--set and --set-file are merged onto the current settings (see
` + "`herdctl auth show PROVIDER`" + `); --unset removes one. Secrets are never
shown and never on the command line: each --secret KEY takes the next line of
stdin, in the order of the flags (on a terminal, herdctl prompts), and
--secret-file KEY=PATH reads a file. Secrets not named stay as they are.

Register the callback URL that herdctl prints at GitHub or the OIDC provider.
For saml, give the IdP Herd's metadata (the URL herdctl prints): it holds
Herd's entity id and callback.`,
		Example: `  echo "$CLIENT_SECRET" | herdctl auth enable github --set clientID=Iv1.0123 --secret clientSecret
  herdctl auth enable oidc --set issuerURL=https://idp.example.com --set clientID=herd \
      --set-file certificate=idp-ca.pem --secret-file clientSecret=secret.txt
  herdctl auth enable saml --set idpMetadataURL=https://idp.example.com/metadata \
      --set groupsAttribute=memberOf --set allowedPrincipals=saml_group://https://idp.example.com/metadata/k8s`,
		Args: needArgs("PROVIDER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := a.parseProviderFlags(&p); err != nil {
				return err
			}
			return a.enableProvider(cmd, s, args[0], &p)
		},
	}
	p.add(cmd)
	return cmd
}

func (a *app) enableProvider(cmd *cobra.Command, s *session, provider string, p *providerFlags) error {
	enabled := true
	req := herdapi.ProviderUpdate{Enabled: &enabled}
	if len(p.secretValues) > 0 {
		req.Secrets = p.secretValues
	}
	if p.changesSettings() {
		current, err := s.client.GetProvider(cmd.Context(), provider)
		var apiErr *herdclient.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound:
			current = &herdapi.Provider{} // configured for the first time
		case err != nil:
			return explainProvider(err, s.cfg, "get the settings of identity provider", provider)
		}
		req.Settings = map[string]string{}
		maps.Copy(req.Settings, current.Settings)
		maps.Copy(req.Settings, p.settings)
		for _, k := range p.unset {
			delete(req.Settings, k)
		}
	}
	out, err := s.client.UpdateProvider(cmd.Context(), provider, req)
	if err != nil {
		return explainProvider(err, s.cfg, "enable identity provider", provider)
	}
	return a.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "identity provider %s enabled\n", provider)
		if out.Flow == flowRedirect {
			fmt.Fprintf(w, "Callback URL to register at the provider: %s\n", callbackURL(s.cfg, provider))
		}
		if provider == "saml" {
			fmt.Fprintf(w, "Herd's SAML metadata for the IdP: %s/v1/auth/saml/metadata\n", s.cfg.Server)
		}
	})
}

func newAuthDisableCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "disable PROVIDER",
		Short: "Stop users from logging in with an identity provider (admin)",
		Long: `Stop users from logging in with an identity provider (admin). Its settings
and secrets are kept, for ` + "`herdctl auth enable PROVIDER`" + ` to turn it on again.`,
		Args: needArgs("PROVIDER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			enabled := false
			out, err := s.client.UpdateProvider(cmd.Context(), args[0], herdapi.ProviderUpdate{Enabled: &enabled})
			if err != nil {
				return explainProvider(err, s.cfg, "disable identity provider", args[0])
			}
			return a.print(out, func(w io.Writer) { fmt.Fprintf(w, "identity provider %s disabled\n", args[0]) })
		},
	}
}
