package herdtest

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// RedirectFlow is one browser login at a redirect provider (GitHub, OIDC)
// as Herd starts it: a random state and PKCE verifier, and the code the
// provider sent back to the callback.
type RedirectFlow struct {
	State, Verifier, Code string
}

// NewRedirectFlow makes the state and verifier of a login.
func NewRedirectFlow() RedirectFlow {
	return RedirectFlow{State: rand.Text(), Verifier: oauth2.GenerateVerifier()}
}

// Exchange redeems f's code at p, as Herd's callback does, and fails the
// test on an error.
func (f RedirectFlow) Exchange(t testing.TB, p authn.RedirectProvider, redirectURL string) *authn.ExternalIdentity {
	t.Helper()
	id, err := p.Exchange(context.Background(), f.Code, f.Verifier, redirectURL)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return id
}

// WantProviderError checks that err is want (nil: any error that is no
// sentinel of authn) and holds none of the secrets.
func WantProviderError(t testing.TB, err, want error, secrets ...string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("got no error, want %v", want)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("got error %v, want %v", err, want)
	case want == nil && (errors.Is(err, authn.ErrFlow) || errors.Is(err, authn.ErrUserGone) || errors.Is(err, authn.ErrProviderUnavailable)):
		t.Fatalf("got error %v, want a plain error", err)
	}
	t.Logf("error (as wanted): %v", err)
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}
