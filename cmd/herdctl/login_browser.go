package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// browserLogin logs in at the provider of o (github, oidc, saml) in a browser:
// herdctl listens on 127.0.0.1, the server sends the browser to the
// provider and then back to herdctl with a ticket, and herdctl redeems the
// ticket with a verifier that never left this process. See herdclient's
// redirect.go for the protocol.
func (a *app) browserLogin(ctx context.Context, cfg *fileConfig, o loginOptions) (*herdapi.TokenResponse, error) {
	client, err := newClient(cfg, "")
	if err != nil {
		return nil, err
	}
	cb, err := listenCallback()
	if err != nil {
		return nil, err
	}
	defer cb.Close()
	verifier, challenge := herdclient.NewVerifier()
	start, err := client.StartRedirectLogin(ctx, o.provider, herdapi.RedirectLoginRequest{CLIRedirect: cb.URL(), CLIChallenge: challenge})
	if err != nil {
		return nil, explain(err, cfg, action{what: "start a browser login with " + o.provider})
	}
	if err := checkAuthURL(start.AuthURL); err != nil {
		return nil, err
	}
	a.sendBrowser(start.AuthURL, o)

	waitCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	got, err := cb.Wait(waitCtx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, hint(err, "the browser did not come back to herdctl within %s: run `%s` again (with --no-browser to open the URL yourself, or a longer --timeout)",
			o.timeout, loginCommand(cfg))
	case err != nil:
		return nil, hint(err, "interrupted")
	}
	resp, err := client.RedeemTicket(ctx, herdapi.TicketRedeemRequest{
		Ticket: got.ticket, Verifier: verifier, Kind: herdapi.KindSession, Description: "herdctl login",
	})
	got.finish(err)
	var apiErr *herdclient.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusUnauthorized {
		return nil, hint(err, "the server refused the login ticket (expired, used already, or from another login): run `%s` again", loginCommand(cfg))
	}
	if err != nil {
		return nil, explain(err, cfg, action{what: "redeem the login ticket"})
	}
	return resp, nil
}

// sendBrowser opens url in a browser, or prints it for the user to open.
// The URL is printed either way, in case the browser that opened is not
// the one the user looks at.
func (a *app) sendBrowser(url string, o loginOptions) {
	if !o.noBrowser && a.openBrowser != nil && a.openBrowser(url) == nil {
		fmt.Fprintf(a.stderr, "Opened a browser to log in with %s. If you do not see it, open this URL in your browser:\n%s\n", o.provider, url)
	} else {
		fmt.Fprintf(a.stderr, "Open this URL in your browser:\n%s\n", url)
	}
	fmt.Fprintf(a.stderr, "Waiting up to %s for the login (the browser must run on this machine; Ctrl-C stops)...\n", o.timeout)
}
