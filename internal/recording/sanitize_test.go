package recording

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSanitizer(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text\r\n", "plain text\r\n"},
		{"\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H", "\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H"},
		{"a\x1b]0;evil title\x07b", "ab"},
		{"a\x1b]52;c;ZXZpbA==\x1b\\b", "ab"},                // clipboard write
		{"x\x1bP+q544e\x1b\\y", "xy"},                       // DCS
		{"q\x1b[6nr\x1b[c\x1b[21t", "qr"},                   // queries and window reports
		{"\x1b]8;;http://evil\x07link\x1b]8;;\x07", "link"}, // hyperlinks
		{"bell\x07 null\x00 \u009d2;x\u009c ok", "bell\x07 null  ok"},
		{"tab\tkept\x1b7\x1b8", "tab\tkept\x1b7\x1b8"},
	} {
		var z Sanitizer
		if got := z.Clean(c.in); got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A sequence split across events, and a flood of escapes.
	var z Sanitizer
	if got := z.Clean("a\x1b]0;ti") + z.Clean("tle\x07b\x1b[3") + z.Clean("1mc"); got != "ab\x1b[31mc" {
		t.Errorf("split: %q", got)
	}
	flood := ""
	for range 10000 {
		flood += "\x1b]0;x\x07"
	}
	if got := new(Sanitizer).Clean(flood + "end"); got != "end" {
		t.Errorf("flood: %q", got)
	}
}

func TestPlay(t *testing.T) {
	cast := `{"version":2,"width":80,"height":24}
[0.5,"o","$ ls\r\n"]
[0.6,"i","x"]
[3.5,"o","\u001b]0;title\u0007a  b\r\n"]
[100,"m","herd: the recording is truncated here, at 10 bytes"]
[100.5,"o","\u001b[32mdone\u001b[0m"]
`
	r, err := NewReader(strings.NewReader(cast))
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	var markers []string
	var out strings.Builder
	err = Play(context.Background(), r, &out, PlayOptions{Speed: 2, IdleLimit: 5 * time.Second,
		Sleep:  func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Marker: func(at time.Duration, text string) { markers = append(markers, at.String()+" "+text) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "$ ls\r\na  b\r\n\x1b[32mdone\x1b[0m" {
		t.Errorf("output %q", got)
	}
	want := []time.Duration{250 * time.Millisecond, 50 * time.Millisecond, 1450 * time.Millisecond, 5 * time.Second, 250 * time.Millisecond}
	if fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("pauses %v, want %v", slept, want)
	}
	if len(markers) != 1 || !strings.Contains(markers[0], "1m40s herd: the recording is truncated") {
		t.Errorf("markers %q", markers)
	}
	if _, err := NewReader(strings.NewReader("not a cast\n")); !errors.Is(err, ErrNotCast) {
		t.Errorf("got %v", err)
	}
}
