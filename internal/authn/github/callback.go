package github

import (
	"net/url"

	"herd.dev/herd/internal/authn"
)

// Callback checks the query GitHub sent the browser back with (see
// authn.Callback) and returns the code for Exchange.
func Callback(query url.Values, wantState string) (string, error) {
	return authn.Callback("github", query, wantState)
}
