package api

import (
	"testing"
)

func TestAddrKey(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"not-an-ip", "not-an-ip"},
	} {
		if got := addrKey(tt.addr); got != tt.want {
			t.Errorf("addrKey(%s): got %s, want %s", tt.addr, got, tt.want)
		}
	}
}
