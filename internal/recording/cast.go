// Package recording records interactive exec and attach sessions that
// pass through Herd's proxy as asciicast v2 (the format of asciinema):
// it taps the upgraded connection's bytes on both sides without slowing
// them, decodes the Kubernetes streaming protocols (WebSocket channel
// protocols v1 to v5 and their base64 variants, and SPDY/3.1), and stores
// the recording in chunks in the management cluster.
package recording

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Header is an asciicast v2 header line.
type Header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Command   string            `json:"command,omitempty"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// Event codes of asciicast v2: output, input, resize ("WxH") and marker.
const (
	CodeOutput = "o"
	CodeInput  = "i"
	CodeResize = "r"
	CodeMarker = "m"
)

// Event is one asciicast v2 event: seconds since the start, its code and
// its data.
type Event struct {
	Time float64
	Code string
	Data string
}

// appendEvent appends the event line [t, code, data] to dst.
func appendEvent(dst []byte, t float64, code, data string) []byte {
	dst = append(dst, '[')
	dst = strconv.AppendFloat(dst, t, 'f', 6, 64)
	dst = append(dst, ',', '"')
	dst = append(dst, code...)
	dst = append(dst, '"', ',')
	js, _ := json.Marshal(data) // a string always marshals
	dst = append(dst, js...)
	return append(dst, ']', '\n')
}

// utf8Stream turns a byte stream into valid UTF-8 strings: a character
// split across two writes is kept for the next, bytes that are not UTF-8
// become U+FFFD, as a terminal shows them.
type utf8Stream struct{ carry []byte }

func (u *utf8Stream) text(p []byte) string {
	if len(u.carry) > 0 {
		p = append(u.carry, p...)
		u.carry = nil
	}
	// Keep an incomplete character at the end (at most 3 bytes).
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if cut < len(p) {
		u.carry = append([]byte(nil), p[cut:]...)
		p = p[:cut]
	}
	if utf8.Valid(p) {
		return string(p)
	}
	return string([]rune(string(p))) // invalid bytes become U+FFFD
}

// ErrNotCast is returned for input that is not asciicast v2.
var ErrNotCast = errors.New("not an asciicast v2 recording")

// Reader reads an asciicast v2 recording.
type Reader struct {
	Header Header
	s      *bufio.Scanner
	line   int
}

// NewReader reads the header line of r.
func NewReader(r io.Reader) (*Reader, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 8<<20)
	if !s.Scan() {
		if s.Err() != nil {
			return nil, s.Err()
		}
		return nil, fmt.Errorf("%w: empty", ErrNotCast)
	}
	rd := &Reader{s: s, line: 1}
	if err := json.Unmarshal(s.Bytes(), &rd.Header); err != nil || rd.Header.Version != 2 {
		return nil, fmt.Errorf("%w: the first line is no version 2 header", ErrNotCast)
	}
	return rd, nil
}

// Next returns the next event, or io.EOF.
func (r *Reader) Next() (Event, error) {
	for r.s.Scan() {
		r.line++
		if len(r.s.Bytes()) == 0 {
			continue
		}
		var raw []json.RawMessage
		var ev Event
		if err := json.Unmarshal(r.s.Bytes(), &raw); err != nil || len(raw) != 3 ||
			json.Unmarshal(raw[0], &ev.Time) != nil || json.Unmarshal(raw[1], &ev.Code) != nil || json.Unmarshal(raw[2], &ev.Data) != nil {
			return Event{}, fmt.Errorf("%w: line %d is no event", ErrNotCast, r.line)
		}
		return ev, nil
	}
	if err := r.s.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

var base64Std = base64.StdEncoding

// ReadAll reads a whole recording.
func ReadAll(in io.Reader) (Header, []Event, error) {
	r, err := NewReader(in)
	if err != nil {
		return Header{}, nil, err
	}
	var evs []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return r.Header, evs, nil
		}
		if err != nil {
			return r.Header, evs, err
		}
		evs = append(evs, ev)
	}
}
