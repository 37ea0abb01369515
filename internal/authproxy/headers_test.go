package authproxy_test

import (
	"net/http"
	"slices"
	"testing"

	"herd.dev/herd/internal/authproxy"
)

func TestSetHeaders(t *testing.T) {
	id := authproxy.Identity{
		User:   "u-abc",
		Groups: []string{"github_org://herd", "system:masters"},
		Extra:  map[string][]string{"Principalid": {"local://u-abc"}},
	}
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
			authproxy.SetHeaders(h, "downstream-cred", id)
			want := http.Header{
				"Authorization":                 {"Bearer downstream-cred"},
				"Impersonate-User":              {"u-abc"},
				"Impersonate-Group":             {"github_org://herd", "system:authenticated"},
				"Impersonate-Extra-Principalid": {"local://u-abc"},
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
