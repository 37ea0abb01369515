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

	"herd.dev/herd/internal/wellknown"
)

// Caller is who makes a proxied request, as Herd authenticated them: one
// typed value from the token to the headers.
type Caller struct {
	// UserID is the User object's name: the user downstream.
	UserID string
	// Username is the login name; Principals the user's principal ids.
	Username   string
	Principals []string
	// Groups are the user's group principals from their providers.
	Groups []string
	// TokenID names the token the request came with (never its secret).
	TokenID string
	// Admin says the caller administers the cluster (authz.IsClusterAdmin).
	Admin bool
}

// Downstream is an identity as a cluster sees it: what Herd impersonates.
type Downstream struct {
	User   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Keys of the extras Herd sends for a caller.
const (
	ExtraPrincipalID    = "principalid"
	ExtraUsername       = "username"
	ExtraRequestTokenID = "requesttokenid"
)

// Downstream is the header policy for a caller: the user id; the groups of
// Groups plus system:authenticated; the principal ids, login name and token
// id as extras.
func (c Caller) Downstream() Downstream {
	return Downstream{
		User:   c.UserID,
		Groups: append(Groups(c.Groups, c.Admin), "system:authenticated"),
		Extra: map[string][]string{
			ExtraPrincipalID:    c.Principals,
			ExtraUsername:       {c.Username},
			ExtraRequestTokenID: {c.TokenID},
		},
	}
}

// Groups are the groups Herd asserts downstream for a user with the given
// group principals, through the proxy and through token copies alike:
// never a Kubernetes system: group, and wellknown.AdminsGroup only when
// admin, whatever the user's own groups say.
func Groups(groups []string, admin bool) []string {
	out := make([]string, 0, len(groups)+1)
	for _, g := range groups {
		if g != wellknown.AdminsGroup && !strings.HasPrefix(g, "system:") {
			out = append(out, g)
		}
	}
	if admin {
		out = append(out, wellknown.AdminsGroup)
	}
	return out
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
// the impersonation of exactly as.
func SetHeaders(h http.Header, credential string, as Downstream) {
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
	h.Set("Impersonate-User", as.User)
	if as.UID != "" {
		h.Set("Impersonate-Uid", as.UID)
	}
	for _, g := range as.Groups {
		h.Add("Impersonate-Group", g)
	}
	for k, vs := range as.Extra {
		for _, v := range vs {
			h.Add("Impersonate-Extra-"+escapeExtraKey(k), v)
		}
	}
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
