package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Errors of identity providers. Wrap them with detail for the log; clients
// get a generic message.
var (
	// ErrUserGone: the provider no longer has the user, or has disabled it.
	ErrUserGone = errors.New("authn: user disabled or deleted in the identity provider")
	// ErrProviderUnavailable: the provider did not answer (down, slow,
	// certificate that does not verify).
	ErrProviderUnavailable = errors.New("authn: identity provider unavailable")
	// ErrFlow: a browser flow that does not check out (state or PKCE
	// mismatch, replayed or expired code, a token that does not verify).
	ErrFlow = errors.New("authn: login flow refused")
)

// Provider types, as in AuthConfig.spec.type and principal id schemes.
const (
	ProviderLocal           = "local"
	ProviderOpenLDAP        = "openldap"
	ProviderActiveDirectory = "activedirectory"
	ProviderGitHub          = "github"
	ProviderOIDC            = "oidc"
	ProviderSAML            = "saml"
)

// IsBrowserProvider reports whether users of a provider type log in
// through their browser (RedirectProvider), not with a password.
func IsBrowserProvider(typ string) bool {
	return typ == ProviderGitHub || typ == ProviderOIDC || typ == ProviderSAML
}

// ExternalIdentity is what an identity provider says of a user.
type ExternalIdentity struct {
	// Provider is the provider type.
	Provider string
	// UserPrincipal is the user's principal id, stable for the user's
	// life (openldap_user://<DN>, activedirectory_user://<objectGUID>,
	// github_user://<numeric id>, oidc_user://<issuer>/<sub>).
	UserPrincipal string
	// Username is the login name (uid, sAMAccountName, GitHub login, OIDC
	// preferred_username or email).
	Username string
	// DisplayName is the user's full name, if known.
	DisplayName string
	// Groups are group principal ids (openldap_group://<DN>,
	// activedirectory_group://<DN>, github_org://<id>, github_team://<id>,
	// oidc_group://<issuer>/<name>), nested groups resolved, sorted, each once.
	Groups []string
	// RefreshState is what the provider needs to read the groups again
	// later without the user (an OAuth refresh token), or "". It is a
	// secret: the caller keeps it in a Secret and never logs it.
	RefreshState string
}

// Principal is a user or group a provider knows, as principal search
// returns it.
type Principal struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"` // "user" or "group"
	Provider    string `json:"provider"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
}

// PasswordProvider checks a username and password (local users, LDAP,
// Active Directory).
type PasswordProvider interface {
	Authenticate(ctx context.Context, username, password string) (*ExternalIdentity, error)
}

// RedirectProvider logs users in through their browser (GitHub, OIDC):
// Herd sends the browser to AuthCodeURL and the provider sends it back to
// redirectURL with a code that Exchange turns into an identity.
type RedirectProvider interface {
	// AuthCodeURL is where to send the browser. state is random and
	// single-use; verifier is the PKCE code verifier (providers that do
	// not support PKCE ignore it).
	AuthCodeURL(state, verifier, redirectURL string) string
	// Exchange redeems a code; a code can be redeemed once.
	Exchange(ctx context.Context, code, verifier, redirectURL string) (*ExternalIdentity, error)
}

// Searcher finds users and groups by name, so roles can be bound to them
// before they log in.
type Searcher interface {
	Search(ctx context.Context, query string, limit int) ([]Principal, error)
}

// Refresher reads a user's groups again, for the background refresh. It
// returns ErrUserGone when the provider no longer has the user or has
// disabled it. Providers that can only refresh with the user's own token
// (GitHub, OIDC) get back the RefreshState of the identity they returned,
// and may return a new one.
type Refresher interface {
	Refresh(ctx context.Context, userPrincipal, state string) (groups []string, newState string, err error)
}

// ProviderFactory builds an identity provider of one type from its
// AuthConfig's settings and the values of its Secret. The result is a
// PasswordProvider or a RedirectProvider, and may also be a Searcher and a
// Refresher.
type ProviderFactory func(ctx context.Context, settings, secrets map[string]string, logger *slog.Logger) (any, error)

// CheckSettings refuses the keys of an AuthConfig's settings that a
// provider does not know, so a misspelt setting is not silently ignored.
func CheckSettings(provider string, settings map[string]string, known []string) error {
	for k := range settings {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%s: unknown setting %q (known: %s)", provider, k, strings.Join(known, ", "))
		}
	}
	return nil
}
