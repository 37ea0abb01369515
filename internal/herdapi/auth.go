package herdapi

import "time"

// Identity providers: the endpoints, added to the list in types.go.
//
//	GET    /v1/auth/providers                 -> ProviderList (enabled providers; settings for admins)
//	GET    /v1/auth/providers/{type}          -> Provider (admin)
//	PUT    /v1/auth/providers/{type}          ProviderUpdate -> Provider (admin; 422 when the provider cannot be built or reached)
//	POST   /v1/auth/login/{type}              RedirectLoginRequest -> RedirectLoginResponse (unauthenticated; GitHub, OIDC)
//	GET    /v1/auth/callback/{type}           the provider's redirect back (browser; ends at the CLI's loopback with a ticket)
//	POST   /v1/auth/tickets                   TicketRedeemRequest -> 201 TokenResponse (unauthenticated; the CLI's verifier is the key)
//	GET    /v1/principals?q=QUERY             -> PrincipalList (users and groups of the enabled providers)
//	POST   /v1/users/{username}/refresh       -> User (admin; reads the user's groups from the provider now)
//
// LoginRequest.Provider selects a password provider: local (default),
// openldap or activedirectory.

// Provider is an identity provider's configuration as the API shows it;
// secrets are never shown.
type Provider struct {
	Type     string            `json:"type"`
	Enabled  bool              `json:"enabled"`
	Settings map[string]string `json:"settings,omitempty"`
	// SecretKeys names the secret values that are set (their values are never returned).
	SecretKeys []string `json:"secretKeys,omitempty"`
	// Flow is "password" or "redirect".
	Flow string `json:"flow"`
}

// ProviderList is a list of providers.
type ProviderList struct {
	Items []Provider `json:"items"`
}

// ProviderUpdate configures a provider. Settings replace the stored ones
// when set; Secrets (bind password, client secret) are merged into the
// stored Secret, an empty value removes the key.
type ProviderUpdate struct {
	Enabled  *bool             `json:"enabled,omitempty"`
	Settings map[string]string `json:"settings,omitempty"`
	Secrets  map[string]string `json:"secrets,omitempty"`
}

// RedirectLoginRequest starts a browser login. CLIRedirect is the CLI's
// loopback callback (http://127.0.0.1:PORT/... or http://localhost:PORT/...);
// CLIChallenge is base64url(sha256(verifier)) of a random verifier that
// only the CLI knows, needed to redeem the ticket.
type RedirectLoginRequest struct {
	CLIRedirect  string `json:"cliRedirect"`
	CLIChallenge string `json:"cliChallenge"`
	// Console starts the web console's login instead of the CLI's: the
	// provider sends the browser back to the console with a session
	// (the other fields stay empty).
	Console bool `json:"console,omitempty"`
}

// RedirectLoginResponse is where to send the browser.
type RedirectLoginResponse struct {
	AuthURL   string    `json:"authURL"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// TicketRedeemRequest exchanges the ticket that the browser brought to the
// CLI's loopback for a token.
type TicketRedeemRequest struct {
	Ticket      string `json:"ticket"`
	Verifier    string `json:"verifier"`
	Kind        string `json:"kind,omitempty"`
	TTLSeconds  int64  `json:"ttlSeconds,omitempty"`
	Description string `json:"description,omitempty"`
}

// PrincipalList is a list of users and groups.
type PrincipalList struct {
	Items []Principal `json:"items"`
}

// Principal is a user or group of an identity provider.
type Principal struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Provider    string `json:"provider"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
}
