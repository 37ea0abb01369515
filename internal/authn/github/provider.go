package github

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// scope is what Herd asks of the user: their orgs and teams.
const scope = "read:org"

// Provider is GitHub or a GitHub Enterprise Server. It is safe for
// concurrent use.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
}

var (
	_ authn.RedirectProvider = (*Provider)(nil)
	_ authn.Refresher        = (*Provider)(nil)
	_ authn.Searcher         = (*Provider)(nil)
)

// New validates cfg and returns the provider; it makes no request.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAPEM != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(cfg.CAPEM))
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Provider{
		cfg: cfg,
		log: cfg.Logger.With("provider", authn.ProviderGitHub, "url", cfg.BaseURL),
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.HTTPTimeout,
			// The token endpoint and the API answer directly; a redirect
			// would only move a token somewhere unchecked.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// AuthCodeURL is GitHub's authorize URL for one login, with the state,
// scope read:org and the PKCE S256 challenge of verifier.
func (p *Provider) AuthCodeURL(state, verifier, redirectURL string) string {
	q := url.Values{
		"client_id":    {p.cfg.ClientID},
		"redirect_uri": {redirectURL},
		"scope":        {scope},
		"state":        {state},
	}
	if verifier != "" {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
	}
	return p.cfg.BaseURL + "/login/oauth/authorize?" + q.Encode()
}
