// Package authproxy is the authenticating reverse proxy in front of every
// downstream cluster: /k8s/clusters/<id>/<kubernetes path>. It
// authenticates the Herd token, hides clusters the caller may not reach,
// strips every credential and impersonation header the client sent, and
// forwards with the downstream credential plus Kubernetes impersonation
// headers naming the Herd user, so the downstream RBAC decides.
package authproxy

import (
	"net/http"
	"strings"
)

// Identity is who a request acts as downstream.
type Identity struct {
	// User is the Herd user id (the User object's name).
	User string
	// Groups are the user's group principals; system:authenticated is added.
	Groups []string
	// Extra becomes Impersonate-Extra-<key> headers.
	Extra map[string][]string
}

// strippedPrefixes are header name prefixes (lower case) that a client may
// never send downstream: credentials, impersonation, front-proxy identity
// headers and forwarding claims.
var strippedPrefixes = []string{
	"authorization", "proxy-authorization", "cookie",
	"impersonate-", "x-remote-", "x-forwarded-", "forwarded",
}

// SetHeaders removes every client-sent credential and identity header from
// h (in any letter case) and then sets Herd's: the downstream bearer
// credential and impersonation of id. Groups that could escalate
// (system:masters and other system: groups) are dropped.
func SetHeaders(h http.Header, credential string, id Identity) {
	for k := range h {
		lower := strings.ToLower(k)
		for _, p := range strippedPrefixes {
			if strings.HasPrefix(lower, p) {
				delete(h, k)
				break
			}
		}
	}
	if credential != "" { // empty: the transport carries its own credential
		h.Set("Authorization", "Bearer "+credential)
	}
	h.Set("Impersonate-User", id.User)
	for _, g := range filterGroups(id.Groups) {
		h.Add("Impersonate-Group", g)
	}
	h.Add("Impersonate-Group", "system:authenticated")
	for k, vs := range id.Extra {
		for _, v := range vs {
			h.Add("Impersonate-Extra-"+k, v)
		}
	}
}
