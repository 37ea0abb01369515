package tunnel

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	authorize := func(*http.Request) (string, error) { return "c1", nil }
	tests := []struct {
		name string
		cfg  interface{ Validate() error }
		want string // part of the error; empty: valid
	}{
		{"server ok", &ServerConfig{Authorize: authorize}, ""},
		{"server without Authorize", &ServerConfig{}, "ServerConfig.Authorize"},
		{"server negative keepalive", &ServerConfig{Authorize: authorize, KeepAlive: -1}, "ServerConfig.KeepAlive"},
		{"agent ok", &AgentConfig{URL: "wss://herd.example/v1/connect"}, ""},
		{"agent without URL", &AgentConfig{}, "AgentConfig.URL is required"},
		{"agent plain ws", &AgentConfig{URL: "ws://herd.example/v1/connect"}, "must be wss://"},
		{"agent https URL", &AgentConfig{URL: "https://herd.example/v1/connect"}, "must be wss://"},
		{"agent negative timeout", &AgentConfig{URL: "wss://h/", DialTimeout: -time.Second}, "negative"},
		{"agent max below min", &AgentConfig{URL: "wss://h/", MinBackoff: time.Minute, MaxBackoff: time.Second}, "MaxBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDefaultKeepaliveNoticesWithin15s(t *testing.T) {
	c := muxConfig(DefaultKeepAlive, nil)
	if got := c.KeepAliveInterval + c.ConnectionWriteTimeout; got > 15*time.Second {
		t.Errorf("a dead link is noticed after up to %v, want at most 15s", got)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		random   func(int64) int64
		min, max time.Duration
		want     []time.Duration
	}{
		{"least", func(int64) int64 { return 0 }, time.Second, 8 * time.Second,
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}},
		{"most", func(n int64) int64 { return n - 1 }, time.Second, 8 * time.Second,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}},
		{"huge min does not overflow", func(int64) int64 { return 0 }, 1000 * time.Hour, 1000 * time.Hour,
			[]time.Duration{500 * time.Hour, 500 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff{min: tt.min, max: tt.max, rand: tt.random}
			for i, want := range tt.want {
				if got := b.next(); got != want {
					t.Errorf("wait %d = %v, want %v", i, got, want)
				}
			}
			b.reset()
			if got := b.next(); got != tt.want[0] {
				t.Errorf("after reset: wait = %v, want %v", got, tt.want[0])
			}
		})
	}
	b := backoff{min: time.Second, max: time.Minute}
	for range 100 {
		if d := b.next(); d < 500*time.Millisecond || d > time.Minute {
			t.Fatalf("jittered wait %v outside [0.5s, 60s]", d)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeRequest(&buf, "tcp", "10.0.0.1:6443"); err != nil {
		t.Fatal(err)
	}
	network, addr, err := readRequest(&buf)
	if network != "tcp" || addr != "10.0.0.1:6443" || err != nil {
		t.Errorf("readRequest() = %q, %q, %v; want tcp 10.0.0.1:6443", network, addr, err)
	}
	replies := []struct {
		status byte
		msg    string
		want   error
	}{
		{statusOK, "", nil},
		{statusNotAllowed, "", ErrNotAllowed},
		{statusDialFailed, "connection refused", ErrDialFailed},
		{9, "", ErrProtocol},
	}
	for _, r := range replies {
		buf.Reset()
		writeReply(&buf, r.status, r.msg)
		if err := readReply(&buf); !errors.Is(err, r.want) || r.want == nil && err != nil {
			t.Errorf("status %d: readReply() = %v, want %v", r.status, err, r.want)
		}
	}
}

func TestHeaderRejectsBadInput(t *testing.T) {
	long := strings.Repeat("a", maxHeader)
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"oversized length", []byte{protoVersion, 0xff, 0xff}, ErrProtocol},
		{"wrong version", append([]byte{7, 0, 5}, "tcp\x00x"...), ErrProtocol},
		{"no separator", append([]byte{protoVersion, 0, 3}, "tcp"...), ErrProtocol},
		{"empty address", append([]byte{protoVersion, 0, 4}, "tcp\x00"...), ErrProtocol},
		{"truncated", []byte{protoVersion, 0, 9, 't'}, io.ErrUnexpectedEOF},
		{"empty", nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := readRequest(bytes.NewReader(tt.input)); !errors.Is(err, tt.want) {
				t.Errorf("readRequest() error = %v, want %v", err, tt.want)
			}
		})
	}
	if err := writeRequest(io.Discard, "tcp", long); !errors.Is(err, ErrProtocol) {
		t.Errorf("writeRequest of a %d-byte address: %v, want %v", len(long), err, ErrProtocol)
	}
}

// TestHoldingFrames: announcements round-trip as counts; a count that is
// not a number over 1 and within maxPeerSessions, or an unknown kind, is
// a protocol error.
func TestHoldingFrames(t *testing.T) {
	for _, n := range []int{0, 1, 2, maxPeerSessions} {
		var buf bytes.Buffer
		if err := writeHolding(&buf, "agent:east/uid", n); err != nil {
			t.Fatal(err)
		}
		kind, body, err := readFrame(&buf)
		if err != nil {
			t.Fatal(err)
		}
		key, got, err := readHolding(kind, body)
		if err != nil || key != "agent:east/uid" || got != n {
			t.Errorf("%d sessions read back as %q, %d, %v", n, key, got, err)
		}
	}
	for _, bad := range []struct {
		kind byte
		body string
	}{
		{kindCount, "1 agent:east"}, {kindCount, "0 agent:east"}, {kindCount, "-3 agent:east"},
		{kindCount, "70000 agent:east"}, {kindCount, "2"}, {kindCount, "2 "}, {kindCount, "x agent:east"},
		{'?', "agent:east"},
	} {
		if _, _, err := readHolding(bad.kind, bad.body); !errors.Is(err, ErrProtocol) {
			t.Errorf("announcement %c %q: %v, want ErrProtocol", bad.kind, bad.body, err)
		}
	}
}
