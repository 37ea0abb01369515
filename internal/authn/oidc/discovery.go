package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// discoveryDoc is the part of the discovery document Herd uses.
type discoveryDoc struct {
	Issuer      string   `json:"issuer"`
	AuthURL     string   `json:"authorization_endpoint"`
	TokenURL    string   `json:"token_endpoint"`
	UserInfoURL string   `json:"userinfo_endpoint"`
	JWKSURL     string   `json:"jwks_uri"`
	Algorithms  []string `json:"id_token_signing_alg_values_supported"`
	AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
}

// authStyle is how to send the client secret to the token endpoint:
// client_secret_basic unless the provider takes only client_secret_post.
// Set rather than auto-detected, so a refused code is not sent twice.
func (d *discoveryDoc) authStyle() oauth2.AuthStyle {
	if len(d.AuthMethods) > 0 && !slices.Contains(d.AuthMethods, "client_secret_basic") &&
		slices.Contains(d.AuthMethods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// discover reads the issuer's discovery document. It does the GET itself
// (rather than oidc.NewProvider) to tell an unreachable provider from a
// wrong issuer URL, and to keep response bodies out of errors.
func discover(ctx context.Context, client *http.Client, issuer string) (*oidc.Provider, oauth2.AuthStyle, error) {
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("oidc: bad issuerURL: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: oidc discovery at %s: %s", authn.ErrProviderUnavailable, wellKnown, truncate(err.Error()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, 0, fmt.Errorf("%w: oidc discovery at %s: %s", authn.ErrProviderUnavailable, wellKnown, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, 0, fmt.Errorf("oidc: discovery at %s: %s (is issuerURL right?)", wellKnown, resp.Status)
	}
	var doc discoveryDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, 0, fmt.Errorf("oidc: discovery at %s: bad document: %s", wellKnown, truncate(err.Error()))
	}
	if doc.Issuer != issuer {
		return nil, 0, fmt.Errorf("oidc: issuerURL %q does not match the issuer %q of the provider's discovery document", issuer, doc.Issuer)
	}
	if doc.AuthURL == "" || doc.TokenURL == "" || doc.JWKSURL == "" {
		return nil, 0, fmt.Errorf("oidc: discovery at %s: authorization_endpoint, token_endpoint and jwks_uri are required", wellKnown)
	}
	pc := oidc.ProviderConfig{
		IssuerURL:   doc.Issuer,
		AuthURL:     doc.AuthURL,
		TokenURL:    doc.TokenURL,
		UserInfoURL: doc.UserInfoURL,
		JWKSURL:     doc.JWKSURL,
		Algorithms:  supportedAlgorithms(doc.Algorithms),
	}
	return pc.NewProvider(oidc.ClientContext(ctx, client)), doc.authStyle(), nil
}

// supportedAlgorithms keeps the asymmetric signing algorithms go-oidc
// verifies; never "none" nor a shared-secret one.
func supportedAlgorithms(algs []string) []string {
	ok := map[string]bool{
		oidc.RS256: true, oidc.RS384: true, oidc.RS512: true,
		oidc.ES256: true, oidc.ES384: true, oidc.ES512: true,
		oidc.PS256: true, oidc.PS384: true, oidc.PS512: true,
		oidc.EdDSA: true,
	}
	var out []string
	for _, a := range algs {
		if ok[a] {
			out = append(out, a)
		}
	}
	return out
}
