package server

import (
	"net"
	"testing"
)

func TestSelfURL(t *testing.T) {
	tests := []struct {
		name, listen  string
		company       bool
		serverURL     string
		wantURL, want string
	}{
		{"every address", "0.0.0.0:8443", false, "", "https://127.0.0.1:8443", ""},
		{"every address, v6", "[::]:8443", false, "", "https://127.0.0.1:8443", ""},
		{"loopback", "127.0.0.1:9000", false, "https://herd.example.com", "https://127.0.0.1:9000", ""},
		{"one other address, generated certificate", "10.0.0.5:8443", false, "", "https://10.0.0.5:8443", "localhost"},
		{"company certificate", "0.0.0.0:443", true, "https://herd.example.com", "https://127.0.0.1:443", "herd.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.listen)
			if err != nil {
				t.Fatal(err)
			}
			gotURL, got := selfURL(addr, tt.company, tt.serverURL)
			if gotURL != tt.wantURL || got != tt.want {
				t.Errorf("selfURL(%s) = %q, %q; want %q, %q", tt.listen, gotURL, got, tt.wantURL, tt.want)
			}
		})
	}
}
