package oidc_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/oidc"
)

// TestCertificate checks the issuer's certificate must chain to the
// configured certificate. The discovery document is all New reads, so a
// stand-in serves it.
func TestCertificate(t *testing.T) {
	var issuer string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": issuer, "authorization_endpoint": issuer + "/auth", "token_endpoint": issuer + "/token",
			"jwks_uri": issuer + "/keys", "id_token_signing_alg_values_supported": []string{"RS256", "none"},
		})
	}))
	defer srv.Close()
	issuer = srv.URL
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	cfg := oidc.Config{IssuerURL: issuer, ClientID: "herd", ClientSecret: "secret"}

	if _, err := oidc.New(context.Background(), cfg); !errors.Is(err, authn.ErrProviderUnavailable) {
		t.Errorf("without the certificate: got %v, want ErrProviderUnavailable", err)
	}
	cfg.CAPEM = caPEM
	if _, err := oidc.New(context.Background(), cfg); err != nil {
		t.Errorf("with the certificate: %v", err)
	}
	cfg.IssuerURL = issuer + "/realms/other"
	if _, err := oidc.New(context.Background(), cfg); err == nil || errors.Is(err, authn.ErrProviderUnavailable) {
		t.Errorf("wrong issuer path (404): got %v, want a plain error", err)
	}
}
