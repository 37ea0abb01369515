package github

import (
	"crypto/subtle"
	"fmt"
	"net/url"

	"herd.dev/herd/internal/authn"
)

// Callback checks the query of the request GitHub sent the browser back
// with: an error answer (access_denied when the user cancels), a missing
// code, and a state that is not the one this browser's login started with
// (compared in constant time) are authn.ErrFlow. It returns the code for
// Exchange.
func Callback(query url.Values, wantState string) (string, error) {
	if e := query.Get("error"); e != "" {
		return "", fmt.Errorf("%w: github: answered %q", authn.ErrFlow, truncate(e))
	}
	state := query.Get("state")
	if wantState == "" || subtle.ConstantTimeCompare([]byte(state), []byte(wantState)) != 1 {
		return "", fmt.Errorf("%w: github: state does not match this login", authn.ErrFlow)
	}
	code := query.Get("code")
	if code == "" {
		return "", fmt.Errorf("%w: github: callback without a code", authn.ErrFlow)
	}
	return code, nil
}
