package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// Provider is one OpenID Connect provider, discovered. It is safe for
// concurrent use.
type Provider struct {
	cfg      Config
	log      *slog.Logger
	client   *http.Client
	provider *oidc.Provider
	endpoint oauth2.Endpoint
	verifier *oidc.IDTokenVerifier
}

var (
	_ authn.RedirectProvider = (*Provider)(nil)
	_ authn.Refresher        = (*Provider)(nil)
)

// New validates cfg and reads the issuer's discovery document. It fails
// with authn.ErrProviderUnavailable when the issuer does not answer, and
// with a plain error when the issuer answers as another issuer.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client := newHTTPClient(cfg.CAPEM, cfg.HTTPTimeout)
	op, style, err := discover(ctx, client, cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		cfg:      cfg,
		log:      cfg.Logger.With("provider", authn.ProviderOIDC, "issuer", cfg.IssuerURL),
		client:   client,
		provider: op,
		endpoint: op.Endpoint(),
		verifier: op.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
	}
	p.endpoint.AuthStyle = style
	p.log.Debug("discovered OpenID provider")
	return p, nil
}

// Issuer is the issuer URL, as in principal ids.
func (p *Provider) Issuer() string { return p.cfg.IssuerURL }

// AuthCodeURL is the provider's authorization URL for one login: the
// state, the PKCE S256 challenge of verifier, and a nonce derived from
// the verifier (so Exchange can check it without more state).
func (p *Provider) AuthCodeURL(state, verifier, redirectURL string) string {
	return p.oauth2Config(redirectURL).AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oidc.Nonce(nonceFor(verifier)))
}

func (p *Provider) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     p.endpoint,
		RedirectURL:  redirectURL,
		Scopes:       p.cfg.Scopes,
	}
}

// ctx makes the oauth2 and go-oidc libraries use Herd's HTTP client.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.client)
}

// nonceFor derives the nonce from the PKCE verifier: a one-way, domain
// separated hash, so the nonce reveals nothing of the verifier.
func nonceFor(verifier string) string {
	sum := sha256.Sum256([]byte("herd-oidc-nonce\x00" + verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (p *Provider) userPrincipal(sub string) string {
	return fmt.Sprintf("%s_user://%s/%s", authn.ProviderOIDC, p.cfg.IssuerURL, sub)
}

func (p *Provider) groupPrincipal(name string) string {
	return fmt.Sprintf("%s_group://%s/%s", authn.ProviderOIDC, p.cfg.IssuerURL, name)
}
