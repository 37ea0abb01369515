// Package authproxy is the authenticating reverse proxy in front of every
// downstream cluster: /k8s/clusters/<id>/<kubernetes path>. It
// authenticates the Herd token, hides clusters the caller may not reach,
// strips every credential and impersonation header the client sent, and
// forwards with the downstream credential plus Kubernetes impersonation
// headers naming the Herd user, so the downstream RBAC decides.
package authproxy

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Identity is who a request acts as downstream.
type Identity struct {
	// User is the Herd user id (the User object's name), or with Exact the
	// user name a `kubectl --as` was allowed to take.
	User string
	// UID is sent only with Exact.
	UID string
	// Groups are the user's group principals; system:authenticated is added.
	Groups []string
	// Extra becomes Impersonate-Extra-<key> headers.
	Extra map[string][]string
	// Exact forwards the identity as it is (the one the cluster's
	// impersonation rules allowed a caller to take): no group is dropped
	// or added.
	Exact bool
}

// strippedPrefixes are header name prefixes (lower case) that a client may
// never send downstream: credentials, impersonation, front-proxy identity
// headers and forwarding claims.
var strippedPrefixes = []string{
	"authorization", "proxy-authorization", "cookie",
	"impersonate-", "x-remote-", "x-forwarded-", "forwarded",
}

// SetHeaders removes every client-sent credential and identity header from
// h (in any letter case), including a bearer token sent as a WebSocket
// subprotocol, and then sets Herd's: the downstream bearer credential and
// impersonation of id. Unless id is Exact, groups that could escalate
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
	stripWebSocketBearer(h)
	if credential != "" { // empty: the transport carries its own credential
		h.Set("Authorization", "Bearer "+credential)
	}
	h.Set("Impersonate-User", id.User)
	if id.Exact {
		if id.UID != "" {
			h.Set("Impersonate-Uid", id.UID)
		}
		for _, g := range id.Groups {
			h.Add("Impersonate-Group", g)
		}
	} else {
		for _, g := range filterGroups(id.Groups) {
			h.Add("Impersonate-Group", g)
		}
		h.Add("Impersonate-Group", "system:authenticated")
	}
	for k, vs := range id.Extra {
		for _, v := range vs {
			h.Add("Impersonate-Extra-"+escapeExtraKey(k), v)
		}
	}
}

// filterGroups drops system: groups.
func filterGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if !strings.HasPrefix(g, "system:") {
			out = append(out, g)
		}
	}
	return out
}

// DownstreamGroups are the groups a non-Exact identity is sent with.
func (id Identity) DownstreamGroups() []string {
	if id.Exact {
		return id.Groups
	}
	return append(filterGroups(id.Groups), "system:authenticated")
}

// escapeExtraKey percent-encodes what may not appear in a header name, as
// client-go does; the apiserver decodes it.
func escapeExtraKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if isTokenChar(c) && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// wsBearerPrefix starts the WebSocket subprotocol that carries a bearer
// token, for clients (browsers) that cannot set headers on a WebSocket.
const wsBearerPrefix = "base64url.bearer.authorization.k8s.io."

// BearerToken is the token r authenticates with: its Authorization Bearer
// header or, for a WebSocket upgrade, the subprotocol
// base64url.bearer.authorization.k8s.io.<base64url token>. Two different
// tokens, or a malformed one, is no token.
func BearerToken(r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		token = strings.TrimSpace(token)
		return token, token != ""
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return "", false
	}
	var token string
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			enc, ok := strings.CutPrefix(strings.TrimSpace(p), wsBearerPrefix)
			if !ok {
				continue
			}
			data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
			if err != nil || len(data) == 0 || (token != "" && token != string(data)) {
				return "", false
			}
			token = string(data)
		}
	}
	return token, token != ""
}

// stripWebSocketBearer removes every bearer subprotocol from
// Sec-WebSocket-Protocol (in any letter case), keeping the others, so a
// Herd token never reaches a downstream apiserver or pod.
func stripWebSocketBearer(h http.Header) {
	for k, vs := range h {
		if !strings.EqualFold(k, "Sec-Websocket-Protocol") {
			continue
		}
		var keep []string
		for _, v := range vs {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(strings.ToLower(p), wsBearerPrefix) {
					keep = append(keep, p)
				}
			}
		}
		delete(h, k)
		if len(keep) > 0 {
			h["Sec-Websocket-Protocol"] = []string{strings.Join(keep, ", ")}
		}
	}
}
