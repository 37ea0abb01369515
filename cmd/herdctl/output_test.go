package main

import (
	"strings"
	"testing"
	"time"
)

func TestHuman(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{90 * time.Second, "90s"},
		{5 * time.Minute, "5m"},
		{119 * time.Minute, "119m"},
		{5 * time.Hour, "5h"},
		{50 * time.Hour, "2d"},
		{800 * 24 * time.Hour, "2y"},
	}
	for _, tt := range tests {
		if got := human(tt.d); got != tt.want {
			t.Errorf("human(%s): got %q, want %q", tt.d, got, tt.want)
		}
	}
	now := testNow
	if got := until(now.Add(-time.Second), now); got != "expired" {
		t.Errorf("until past: got %q, want expired", got)
	}
	if got := until(time.Time{}, now); got != "never" {
		t.Errorf("until zero: got %q, want never", got)
	}
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "herd.example.com", want: "https://herd.example.com"},
		{in: "herd.example.com:8443/", want: "https://herd.example.com:8443"},
		{in: "https://herd.example.com/prefix/", want: "https://herd.example.com/prefix"},
		{in: "http://herd.example.com", wantErr: "only talks https"},
		{in: "https://u:p@herd.example.com", wantErr: "must not have a user"},
		{in: "https://", wantErr: "not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeServer(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %q, %v, want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("", "version"); !strings.HasPrefix(out, "herdctl ") {
		t.Errorf("version: got %q", out)
	}
	if out := c.ok("", "version", "-o", "json"); !strings.Contains(out, `"goVersion"`) {
		t.Errorf("version -o json: got %q", out)
	}
}
