package recording

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/spdystream/spdy"

	"herd.dev/herd/internal/authproxy"
)

// memStore keeps recordings in memory, for this package's tests only.
type memStore struct {
	mu      sync.Mutex
	fail    bool
	created map[string]Info
	chunks  map[string]map[int][]byte
	done    map[string]Summary
	gone    map[string]bool
}

func newMemStore() *memStore {
	return &memStore{created: map[string]Info{}, chunks: map[string]map[int][]byte{}, done: map[string]Summary{}, gone: map[string]bool{}}
}

var errDown = errors.New("store down")

func (m *memStore) Create(_ context.Context, name string, info Info, _ bool, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errDown
	}
	m.created[name], m.chunks[name] = info, map[int][]byte{}
	return nil
}

func (m *memStore) WriteChunk(_ context.Context, name string, i int, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errDown
	}
	m.chunks[name][i] = append([]byte(nil), data...)
	return nil
}

func (m *memStore) Finish(_ context.Context, name string, s Summary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[name] = s
	return nil
}

func (m *memStore) Discard(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gone[name] = true
	return nil
}

func (m *memStore) setFail(v bool) {
	m.mu.Lock()
	m.fail = v
	m.mu.Unlock()
}

// cast is the whole recording: its chunks in order.
func (m *memStore) cast(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b []byte
	for i := 0; ; i++ {
		c, ok := m.chunks[name][i]
		if !ok {
			return b
		}
		b = append(b, c...)
	}
}

func readCast(t *testing.T, data []byte) (Header, []Event) {
	t.Helper()
	h, evs, err := ReadAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%v: %q", err, data)
	}
	return h, evs
}

func text(evs []Event, code string) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Code == code {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

// wsPair is a real WebSocket connection (gorilla/websocket on both ends)
// whose bytes pass through a tap into sess, as through Herd's proxy.
func wsPair(t *testing.T, protocol string, sess *Session) (client, server *websocket.Conn) {
	t.Helper()
	serverConn := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{Subprotocols: []string{protocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		serverConn <- c
	}))
	t.Cleanup(srv.Close)
	dialer := websocket.Dialer{Subprotocols: []string{protocol}, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err != nil {
			return nil, err
		}
		return &tapConn{Conn: c, s: sess}, nil
	}}
	c, resp, err := dialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	sess.Upgraded(resp.Header)
	go func() { // the client reads all the time, as the proxy's copy does
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return c, <-serverConn
}

// tapConn is the client's side of the connection: what it writes came
// from the client, what it reads from the server. The handshake is
// skipped: the tap starts once the upgrade is answered, as in the proxy.
type tapConn struct {
	net.Conn
	s        *Session
	mu       sync.Mutex
	upgraded bool
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	on := c.upgraded
	c.mu.Unlock()
	if on {
		c.s.FromClient(p)
	}
	return c.Conn.Write(p)
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	on := c.upgraded
	if !on {
		if i := bytes.Index(p[:n], []byte("\r\n\r\n")); i >= 0 {
			c.upgraded = true
			c.mu.Unlock()
			c.s.FromServer(p[i+4 : n])
			return n, err
		}
	}
	c.mu.Unlock()
	if on {
		c.s.FromServer(p[:n])
	}
	return n, err
}

func startSession(t *testing.T, cfg Config) (*Recorder, *memStore, *Session) {
	t.Helper()
	store := newMemStore()
	cfg.Store = store
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 20 * time.Millisecond
	}
	rec := New(cfg)
	s, err := rec.Start(t.Context(), Info{User: "alice", Cluster: "east", Namespace: "default", Pod: "web", Container: "app", Kind: "exec", Command: []string{"sh", "-i"}, TTY: true, Stdin: true})
	if err != nil {
		t.Fatal(err)
	}
	return rec, store, s
}

func endSession(t *testing.T, rec *Recorder, s *Session) {
	t.Helper()
	s.End()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rec.Wait(ctx)
}

// TestWebSocketRecording records a v5 channel session over a real
// WebSocket connection: the terminal's size from the first resize, output
// of stdout and stderr in order, input when asked, a later resize, and a
// character split across two messages.
func TestWebSocketRecording(t *testing.T) {
	for _, protocol := range []string{"v5.channel.k8s.io", "v4.base64.channel.k8s.io"} {
		t.Run(protocol, func(t *testing.T) {
			rec, store, sess := startSession(t, Config{Input: true})
			client, server := wsPair(t, protocol, sess)
			b64 := strings.Contains(protocol, "base64")
			send := func(c *websocket.Conn, ch byte, data string) {
				var err error
				if b64 {
					err = c.WriteMessage(websocket.TextMessage, []byte(string('0'+ch)+b64enc(data)))
				} else {
					err = c.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, data...))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			send(client, 4, `{"Width":120,"Height":40}`)
			send(client, 0, "ls\r")
			send(server, 1, "ls\r\nfile-a  file-b\r\n")
			send(server, 2, "warning\r\n")
			send(server, 1, "caf\xc3")
			send(server, 1, "\xa9 $ ")
			time.Sleep(100 * time.Millisecond) // the header is stored
			send(client, 4, `{"Width":100,"Height":30}`)
			if err := client.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			send(server, 1, "bye\r\n")
			time.Sleep(50 * time.Millisecond)
			endSession(t, rec, sess)
			h, evs := readCast(t, store.cast(sess.Name()))
			if h.Width != 120 || h.Height != 40 || h.Command != "sh -i" || !strings.Contains(h.Title, "alice on east: default/web/app") {
				t.Errorf("header %+v", h)
			}
			if got, want := text(evs, CodeOutput), "ls\r\nfile-a  file-b\r\nwarning\r\ncafé $ bye\r\n"; got != want {
				t.Errorf("output %q, want %q", got, want)
			}
			if got := text(evs, CodeInput); got != "ls\r" {
				t.Errorf("input %q", got)
			}
			if got := text(evs, CodeResize); got != "100x30" {
				t.Errorf("resize %q", got)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].Time < evs[i-1].Time {
					t.Errorf("event %d goes back in time", i)
				}
			}
			sum := store.done[sess.Name()]
			if sum.Bytes != int64(len(store.cast(sess.Name()))) || sum.Chunks != 1 || sum.LostBytes != 0 || sum.Truncated {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

func b64enc(s string) string {
	return base64Std.EncodeToString([]byte(s))
}

// TestSPDYRecording feeds a SPDY/3.1 session, written by spdystream's own
// framer as client-go's and the kubelet's are, in pieces of random size:
// streams are known by their streamType header, whose blocks share one
// compression context per direction.
func TestSPDYRecording(t *testing.T) {
	rec, store, sess := startSession(t, Config{})
	var fromClient, fromServer bytes.Buffer
	cf, _ := spdy.NewFramer(&fromClient, nil)
	sf, _ := spdy.NewFramer(&fromServer, nil)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	sess.Upgraded(http.Header{"Upgrade": {"SPDY/3.1"}, "X-Stream-Protocol-Version": {"v4.channel.k8s.io"}})
	feed := func(client bool, buf *bytes.Buffer) {
		for buf.Len() > 0 {
			n := min(buf.Len(), 1+rand.IntN(7))
			if client {
				sess.FromClient(buf.Next(n))
			} else {
				sess.FromServer(buf.Next(n))
			}
		}
	}
	for i, typ := range []string{"error", "stdin", "stdout", "stderr", "resize"} {
		_ = cf.WriteFrame(&spdy.SynStreamFrame{StreamId: spdy.StreamId(2*i + 1), Headers: h("streamType", typ, "port", "1")})
	}
	feed(true, &fromClient)
	for i := range 5 {
		_ = sf.WriteFrame(&spdy.SynReplyFrame{StreamId: spdy.StreamId(2*i + 1), Headers: h("x", "y")})
	}
	_ = cf.WriteFrame(&spdy.DataFrame{StreamId: 9, Data: []byte(`{"Width":90,"Height":20}`)})
	_ = cf.WriteFrame(&spdy.DataFrame{StreamId: 3, Data: []byte("whoami\r")})
	feed(true, &fromClient)
	_ = sf.WriteFrame(&spdy.DataFrame{StreamId: 5, Data: []byte("root\r\n")})
	_ = sf.WriteFrame(&spdy.DataFrame{StreamId: 7, Data: []byte("oops\r\n")})
	_ = sf.WriteFrame(&spdy.PingFrame{Id: 1})
	feed(false, &fromServer)
	endSession(t, rec, sess)
	hd, evs := readCast(t, store.cast(sess.Name()))
	if hd.Width != 90 || hd.Height != 20 {
		t.Errorf("header %+v", hd)
	}
	if got := text(evs, CodeOutput); got != "root\r\noops\r\n" {
		t.Errorf("output %q", got)
	}
	if got := text(evs, CodeInput); got != "" {
		t.Errorf("input recorded without Input: %q", got)
	}
}

// TestLimits: a session past MaxSize is truncated with a marker and goes
// on; events that the store cannot take while it is down are dropped and
// marked where they were; a refused upgrade leaves no record; malformed
// frames stop the recording, not the session.
func TestLimits(t *testing.T) {
	t.Run("truncated", func(t *testing.T) {
		rec, store, sess := startSession(t, Config{MaxSize: 1000, ChunkSize: 300})
		sess.Upgraded(http.Header{"Sec-Websocket-Protocol": {"v5.channel.k8s.io"}})
		for i := range 50 {
			sess.FromServer(wsFrame(1, strings.Repeat("\x1b[31mA", 20)))
			if i%5 == 4 {
				time.Sleep(30 * time.Millisecond) // stored in several chunks
			}
		}
		endSession(t, rec, sess)
		_, evs := readCast(t, store.cast(sess.Name()))
		if got := len(text(evs, CodeOutput)); got > 1000 || got < 900 {
			t.Errorf("kept %d bytes of output", got)
		}
		if !strings.Contains(text(evs, CodeMarker), "truncated") {
			t.Error("no truncation marker")
		}
		sum := store.done[sess.Name()]
		if !sum.Truncated || sum.LostBytes == 0 || sum.Chunks < 2 || sum.Bytes != int64(len(store.cast(sess.Name()))) {
			t.Errorf("summary %+v", sum)
		}
	})
	t.Run("store down", func(t *testing.T) {
		rec, store, sess := startSession(t, Config{MaxPending: 100})
		sess.Upgraded(http.Header{"Sec-Websocket-Protocol": {"v5.channel.k8s.io"}})
		sess.FromServer(wsFrame(1, "before "))
		time.Sleep(100 * time.Millisecond)
		store.setFail(true)
		for range 20 {
			sess.FromServer(wsFrame(1, "0123456789"))
		}
		time.Sleep(100 * time.Millisecond)
		store.setFail(false)
		time.Sleep(100 * time.Millisecond)
		sess.FromServer(wsFrame(1, " after"))
		endSession(t, rec, sess)
		_, evs := readCast(t, store.cast(sess.Name()))
		out := text(evs, CodeOutput)
		if !strings.HasPrefix(out, "before ") || !strings.HasSuffix(out, " after") {
			t.Errorf("output %q", out)
		}
		if !strings.Contains(text(evs, CodeMarker), "bytes were not recorded here") {
			t.Errorf("no gap marker in %+v", evs)
		}
		if sum := store.done[sess.Name()]; sum.LostBytes == 0 {
			t.Errorf("summary %+v", sum)
		}
	})
	t.Run("refused upgrade", func(t *testing.T) {
		rec, store, sess := startSession(t, Config{})
		endSession(t, rec, sess)
		if !store.gone[sess.Name()] {
			t.Error("the record of a session that never began was kept")
		}
	})
	t.Run("store down at start", func(t *testing.T) {
		store := newMemStore()
		store.setFail(true)
		if _, err := New(Config{Store: store}).Start(t.Context(), Info{}); !errors.Is(err, errDown) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		rec, store, sess := startSession(t, Config{})
		sess.Upgraded(http.Header{"Sec-Websocket-Protocol": {"v5.channel.k8s.io"}})
		sess.FromServer(wsFrame(1, "ok"))
		sess.FromServer([]byte{0x82, 0xff, 0, 0, 0, 0, 0xff, 0, 0, 0})
		sess.FromServer(wsFrame(1, "lost"))
		endSession(t, rec, sess)
		_, evs := readCast(t, store.cast(sess.Name()))
		if text(evs, CodeOutput) != "ok" || !strings.Contains(text(evs, CodeMarker), "could not be decoded") {
			t.Errorf("events %+v", evs)
		}
	})
}

// wsFrame is an unmasked binary frame from the server on channel ch.
func wsFrame(ch byte, data string) []byte {
	payload := append([]byte{ch}, data...)
	if len(payload) >= 126 {
		panic("short frames only")
	}
	return append([]byte{0x82, byte(len(payload))}, payload...)
}

func TestUTF8Stream(t *testing.T) {
	var u utf8Stream
	got := u.text([]byte("a\xe2\x82")) + u.text([]byte("\xacb\xff")) + u.text([]byte("\xf0\x9f"))
	if got != "a€b\ufffd" || len(u.carry) != 2 {
		t.Errorf("got %q carry %q", got, u.carry)
	}
}

// TestPolicy: off records nothing; on runs a session unrecorded when its
// record cannot be made; required refuses it.
func TestPolicy(t *testing.T) {
	store := newMemStore()
	rec := New(Config{Store: store})
	s := authproxy.RecordedSession{Cluster: "east", Namespace: "ns", Pod: "p", Kind: "exec", TTY: true, Caller: authproxy.Caller{UserID: "u-1"}}
	if r, err := rec.ForProxy(Off).Start(t.Context(), s); r != nil || err != nil {
		t.Errorf("off: %v %v", r, err)
	}
	r, err := rec.ForProxy(On).Start(t.Context(), s)
	if err != nil || r == nil {
		t.Fatalf("on: %v %v", r, err)
	}
	r.End()
	if info := store.created[r.(*Session).Name()]; info.User != "u-1" || info.Cluster != "east" {
		t.Errorf("record %+v", info)
	}
	store.setFail(true)
	if r, err := rec.ForProxy(On).Start(t.Context(), s); r != nil || err != nil {
		t.Errorf("on, store down: %v %v", r, err)
	}
	if _, err := rec.ForProxy(Required).Start(t.Context(), s); !errors.Is(err, ErrUnavailable) {
		t.Errorf("required, store down: %v", err)
	}
	store.setFail(false)
	full := New(Config{Store: store, MaxSessions: 1})
	first, err := full.Start(t.Context(), Info{})
	if err != nil {
		t.Fatal(err)
	}
	first.Upgraded(http.Header{"Sec-Websocket-Protocol": {"v5.channel.k8s.io"}})
	if _, err := full.ForProxy(Required).Start(t.Context(), s); !errors.Is(err, ErrUnavailable) {
		t.Errorf("required, recorder full: %v", err)
	}
	first.End()
	full.Wait(t.Context())
	if r, err := full.ForProxy(Required).Start(t.Context(), s); err != nil || r == nil {
		t.Errorf("required, a slot free again: %v", err)
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("ParsePolicy took sometimes")
	}
}
