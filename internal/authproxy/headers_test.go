package authproxy_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/wellknown"
)

// TestCallerDownstream is the header policy: what the cluster sees of a
// caller.
func TestCallerDownstream(t *testing.T) {
	base := authproxy.Caller{UserID: "u-abc", Username: "alice", Principals: []string{"local://u-abc"}, TokenID: "t-1"}
	tests := []struct {
		name       string
		groups     []string
		admin      bool
		wantGroups []string
	}{
		{"no groups", nil, false, []string{"system:authenticated"}},
		{"provider groups", []string{"github_org://herd", "oidc_group://x/devs"}, false, []string{"github_org://herd", "oidc_group://x/devs", "system:authenticated"}},
		{"a system: group is never sent", []string{"system:masters", "github_org://herd"}, false, []string{"github_org://herd", "system:authenticated"}},
		{"the admins group only for admins", []string{wellknown.AdminsGroup}, false, []string{"system:authenticated"}},
		{"an admin", []string{"github_org://herd"}, true, []string{"github_org://herd", wellknown.AdminsGroup, "system:authenticated"}},
		{"an admin whose groups name the admins group", []string{wellknown.AdminsGroup}, true, []string{wellknown.AdminsGroup, "system:authenticated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.Groups, c.Admin = tt.groups, tt.admin
			got := c.Downstream()
			if got.User != "u-abc" || got.UID != "" || !slices.Equal(got.Groups, tt.wantGroups) {
				t.Errorf("got %s %q %v, want u-abc with groups %v", got.User, got.UID, got.Groups, tt.wantGroups)
			}
			want := map[string][]string{"principalid": {"local://u-abc"}, "username": {"alice"}, "requesttokenid": {"t-1"}}
			if len(got.Extra) != len(want) {
				t.Errorf("extras %v, want %v", got.Extra, want)
			}
			for k, v := range want {
				if !slices.Equal(got.Extra[k], v) {
					t.Errorf("extra %s: got %q, want %q", k, got.Extra[k], v)
				}
			}
		})
	}
}

func TestSetHeaders(t *testing.T) {
	as := authproxy.Caller{UserID: "u-abc", Username: "alice", Principals: []string{"local://u-abc"}, TokenID: "t-1",
		Groups: []string{"github_org://herd", "system:masters"}}.Downstream()
	tests := []struct {
		name   string
		client http.Header
	}{
		{"plain", http.Header{"Accept": {"application/json"}}},
		{"client credentials", http.Header{"Authorization": {"Bearer stolen"}, "Cookie": {"R_SESS=x"}, "Proxy-Authorization": {"Basic x"}}},
		{"impersonation in odd case", http.Header{"impersonate-user": {"admin"}, "IMPERSONATE-GROUP": {"system:masters"}, "Impersonate-Extra-Scopes": {"x"}, "Impersonate-Uid": {"0"}}},
		{"front proxy and forwarding", http.Header{"X-Remote-User": {"admin"}, "X-Remote-Group": {"system:masters"}, "X-Forwarded-For": {"1.2.3.4"}, "Forwarded": {"for=1.2.3.4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.client.Clone()
			authproxy.SetHeaders(h, "downstream-cred", as)
			want := http.Header{
				"Authorization":                    {"Bearer downstream-cred"},
				"Impersonate-User":                 {"u-abc"},
				"Impersonate-Group":                {"github_org://herd", "system:authenticated"},
				"Impersonate-Extra-Principalid":    {"local://u-abc"},
				"Impersonate-Extra-Username":       {"alice"},
				"Impersonate-Extra-Requesttokenid": {"t-1"},
			}
			if tt.name == "plain" {
				want["Accept"] = []string{"application/json"}
			}
			if len(h) != len(want) {
				t.Errorf("got headers %v, want %v", h, want)
			}
			for k, v := range want {
				if !slices.Equal(h[k], v) {
					t.Errorf("%s: got %q, want %q", k, h[k], v)
				}
			}
		})
	}
}

// An identity a `kubectl --as` was allowed to take goes out exactly as it
// is: its system: groups too, and its uid.
func TestSetHeadersExact(t *testing.T) {
	h := http.Header{"Impersonate-User": {"someone"}, "Impersonate-Extra-Scopes": {"x"}}
	as := authproxy.Downstream{User: "system:serviceaccount:ns:sa", UID: "42",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
		Extra:  map[string][]string{"example.org/team": {"a"}}}
	authproxy.SetHeaders(h, "as-cred", as)
	want := http.Header{
		"Authorization":                        {"Bearer as-cred"},
		"Impersonate-User":                     {"system:serviceaccount:ns:sa"},
		"Impersonate-Uid":                      {"42"},
		"Impersonate-Group":                    {"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
		"Impersonate-Extra-Example.org%2fteam": {"a"},
	}
	if len(h) != len(want) {
		t.Errorf("got headers %v, want %v", h, want)
	}
	for k, v := range want {
		if !slices.Equal(h[k], v) {
			t.Errorf("%s: got %q, want %q", k, h[k], v)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tok := "t-abcdefghij:" + strings.Repeat("A", 43)
	proto := "base64url.bearer.authorization.k8s.io." + base64.RawURLEncoding.EncodeToString([]byte(tok))
	other := "base64url.bearer.authorization.k8s.io." + base64.RawURLEncoding.EncodeToString([]byte("t-other:x"))
	tests := []struct {
		name   string
		header http.Header
		want   string
		ok     bool
	}{
		{"authorization", http.Header{"Authorization": {"Bearer " + tok}}, tok, true},
		{"lower-case scheme", http.Header{"Authorization": {"bearer " + tok}}, tok, true},
		{"basic", http.Header{"Authorization": {"Basic eDp5"}}, "", false},
		{"subprotocol", http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Protocol": {"v5.channel.k8s.io, " + proto}}, tok, true},
		{"subprotocol in its own header", http.Header{"Upgrade": {"WebSocket"}, "Sec-Websocket-Protocol": {"v5.channel.k8s.io", proto}}, tok, true},
		{"subprotocol without an upgrade", http.Header{"Sec-Websocket-Protocol": {proto}}, "", false},
		{"two different tokens", http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Protocol": {proto + "," + other}}, "", false},
		{"not base64url", http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Protocol": {"base64url.bearer.authorization.k8s.io.!!"}}, "", false},
		{"empty", http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Protocol": {"base64url.bearer.authorization.k8s.io."}}, "", false},
		{"nothing", http.Header{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: tt.header}
			got, ok := authproxy.BearerToken(r)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The bearer subprotocol never goes downstream, whatever its letter case;
// the other subprotocols do.
func TestSetHeadersStripsWebSocketBearer(t *testing.T) {
	tok := base64.RawURLEncoding.EncodeToString([]byte("t-abcdefghij:secret"))
	for _, h := range []http.Header{
		{"Sec-Websocket-Protocol": {"v5.channel.k8s.io, base64url.bearer.authorization.k8s.io." + tok}},
		{"Sec-Websocket-Protocol": {"base64url.bearer.authorization.k8s.io." + tok, "v5.channel.k8s.io"}},
		{"sec-websocket-protocol": {"Base64Url.Bearer.Authorization.K8s.Io." + tok + ",v5.channel.k8s.io"}},
	} {
		authproxy.SetHeaders(h, "cred", authproxy.Caller{UserID: "u-1"}.Downstream())
		if got := h.Values("Sec-Websocket-Protocol"); len(got) != 1 || got[0] != "v5.channel.k8s.io" {
			t.Errorf("got subprotocols %q, want only v5.channel.k8s.io", got)
		}
		for k, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, tok) {
					t.Errorf("the token is still in %s: %s", k, v)
				}
			}
		}
	}
}
