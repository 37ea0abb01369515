package oidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

// ErrNoRefreshState is what Refresh returns for an identity whose login
// got no refresh token (the provider issued none, often for want of the
// offline_access scope): its groups cannot be read again without the user.
var ErrNoRefreshState = errors.New("oidc: no refresh token to read the groups again")

// classify turns an error of a request to the provider into Herd's: an
// unreachable or failing provider is authn.ErrProviderUnavailable, an
// invalid_grant answer is onInvalidGrant, anything else a plain error.
// The message never holds the secrets given, and is bounded.
func classify(what string, err error, onInvalidGrant error, secrets ...string) error {
	msg := redact(truncate(err.Error()), secrets...)
	var re *oauth2.RetrieveError
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("oidc: %s: %w", what, context.Canceled)
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			return fmt.Errorf("%w: oidc %s: HTTP %d", authn.ErrProviderUnavailable, what, status)
		}
		detail := re.ErrorCode
		if re.ErrorDescription != "" {
			detail += ": " + redact(truncate(re.ErrorDescription), secrets...)
		}
		if detail == "" {
			detail = fmt.Sprintf("HTTP %d", status)
		}
		if re.ErrorCode == "invalid_grant" {
			return fmt.Errorf("%w: oidc %s: %s", onInvalidGrant, what, detail)
		}
		return fmt.Errorf("oidc: %s refused: %s", what, detail)
	case errors.Is(err, errResponseTooLarge):
		return fmt.Errorf("oidc: %s: %w", what, errResponseTooLarge)
	case errors.As(err, &ue), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: oidc %s: %s", authn.ErrProviderUnavailable, what, msg)
	}
	return fmt.Errorf("oidc: %s: %s", what, msg)
}

// redact replaces each non-empty secret in s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// truncate bounds a message that may hold part of a provider's answer.
func truncate(s string) string {
	const max = 300
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// isKeyFetchError tells a failure to fetch the provider's signing keys
// from a signature that does not verify. go-oidc keeps only the message
// of the cause ("failed to verify signature: fetching keys ...").
func isKeyFetchError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "fetching keys") || strings.Contains(msg, "get keys failed")
}

// isServerError tells a go-oidc userinfo error for an HTTP 5xx answer,
// whose message starts with the status ("503 Service Unavailable: ...").
func isServerError(err error) bool {
	msg := err.Error()
	return len(msg) >= 4 && msg[0] == '5' && msg[3] == ' ' && strings.IndexFunc(msg[:3], func(r rune) bool { return r < '0' || r > '9' }) < 0
}
