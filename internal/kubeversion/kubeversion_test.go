package kubeversion

import (
	"strings"
	"testing"
)

func TestCheckChange(t *testing.T) {
	for _, tt := range []struct{ from, to, want string }{
		{"v1.36.3", "v1.37.2", ""},
		{"v1.37.2", "v1.37.2", ""},
		{"v1.37.1", "v1.37.2", ""},
		{"v1.37.2", "v1.36.3", "downgrades are not supported"},
		{"v1.37.2", "v1.37.1", "downgrades are not supported"},
		{"v1.35.4", "v1.37.2", "upgrade one minor at a time (to v1.36 first)"},
		{"v1.37.2", "v2.0.0", "skips a minor"},
		{"v1.37.2", "latest", "is not a Kubernetes version"},
	} {
		got := CheckChange(tt.from, tt.to)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("CheckChange(%s, %s) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
	if !Older("v1.36.3", "v1.37.2") || Older("v1.37.2", "v1.36.3") || Older("x", "v1.0.0") {
		t.Error("Older")
	}
}
