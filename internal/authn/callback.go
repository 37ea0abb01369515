package authn

import (
	"crypto/subtle"
	"fmt"
	"net/url"
)

// Callback checks the query of the request a provider sent the browser
// back with: an error answer (access_denied when the user cancels), a
// missing code, and a state that is not the one this browser's login
// started with (compared in constant time) are ErrFlow. It returns the
// code to exchange.
func Callback(provider string, query url.Values, wantState string) (string, error) {
	if e := query.Get("error"); e != "" {
		if len(e) > 100 {
			e = e[:100]
		}
		return "", fmt.Errorf("%w: %s: answered %q", ErrFlow, provider, e)
	}
	state := query.Get("state")
	if wantState == "" || subtle.ConstantTimeCompare([]byte(state), []byte(wantState)) != 1 {
		return "", fmt.Errorf("%w: %s: state does not match this login", ErrFlow, provider)
	}
	code := query.Get("code")
	if code == "" {
		return "", fmt.Errorf("%w: %s: callback without a code", ErrFlow, provider)
	}
	return code, nil
}
