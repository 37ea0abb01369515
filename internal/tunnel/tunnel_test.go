package tunnel

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestHTTPRoundTrip(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	defer backend.Close()
	h := newHarness(t, nil)
	startAgent(t, h.agentConfig(t, "c1", backend.Listener.Addr().String()))
	h.waitConnected(t, "c1")

	client := h.client(t, "c1")
	for i := range 20 {
		resp, err := client.Get(fmt.Sprintf("%s/%d", backend.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := string(body), fmt.Sprintf("hello /%d", i); err != nil || got != want {
			t.Fatalf("body = %q, %v; want %q", got, err, want)
		}
	}
	if got := <-h.changes; got != (change{"c1", true}) {
		t.Errorf("OnChange got %+v, want c1 connected", got)
	}
}

func TestConcurrentStreams(t *testing.T) {
	echo := startEcho(t)
	h := newHarness(t, nil)
	startAgent(t, h.agentConfig(t, "c1", echo))
	h.waitConnected(t, "c1")

	const streams, size = 64, 256 << 10 // beyond yamux's initial window
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Go(func() { errs <- echoThrough(h.srv, "c1", echo, size+i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// echoThrough sends size random bytes to the echo server through the
// tunnel, half-closes, and checks what comes back.
func echoThrough(srv *Server, cluster, echo string, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := srv.DialContext(ctx, cluster, "tcp", echo)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitFor))
	want := make([]byte, size)
	rand.Read(want)
	go func() {
		c.Write(want)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		return fmt.Errorf("echo of %d bytes: got %d bytes (equal %v), err %v", size, len(got), bytes.Equal(got, want), err)
	}
	return nil
}

func TestDialRefusals(t *testing.T) {
	var accepted atomic.Int32
	forbidden := serveTCP(t, func(net.Conn) { accepted.Add(1) })
	closedPort := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}()
	h := newHarness(t, nil)
	startAgent(t, h.agentConfig(t, "c1", closedPort))
	denyAll := h.agentConfig(t, "c2")
	denyAll.Allow = nil
	startAgent(t, denyAll)
	h.waitConnected(t, "c1")
	h.waitConnected(t, "c2")

	tests := []struct {
		name, cluster, addr string
		want                error
	}{
		{"not allowed", "c1", forbidden, ErrNotAllowed},
		{"nil Allow denies all", "c2", forbidden, ErrNotAllowed},
		{"allowed but nothing listens", "c1", closedPort, ErrDialFailed},
		{"no session", "c3", forbidden, ErrNotConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := h.srv.Dialer(tt.cluster)(context.Background(), "tcp", tt.addr)
			if !errors.Is(err, tt.want) {
				t.Fatalf("dial got conn %v, err %v; want %v", c, err, tt.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("the forbidden address got %d connections, want 0", n)
	}
}

func TestUnauthorizedAgentIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	d := websocket.Dialer{TLSClientConfig: h.tls}
	_, resp, err := d.Dial(h.url, http.Header{"Authorization": {"Bearer wrong"}, "X-Test-Cluster": {"c1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("connect with a wrong token: err %v, response %v; want 401", err, resp)
	}
	if h.srv.Connected("c1") {
		t.Error("a refused agent has a session")
	}
}

// A second agent's session does not evict the first: dials go through
// the newest live session, and the cluster stays connected until the last
// one ends.
func TestSecondSessionDoesNotEvict(t *testing.T) {
	backend := func(name string) string {
		return serveTCP(t, func(c net.Conn) { io.WriteString(c, name) })
	}
	first, second := backend("first"), backend("second")
	counts := make(chan int, 10)
	h := newHarness(t, func(c *ServerConfig) {
		c.OnCount = func(cluster string, n int) {
			if cluster == "c1" {
				counts <- n
			}
		}
	})
	cfg := h.agentConfig(t, "c1", first)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour // no reconnect
	a := startAgent(t, cfg)
	a.waitConnect(t)
	h.waitConnected(t, "c1")
	if got := readFrom(t, h.srv, "c1", first); got != "first" {
		t.Fatalf("through the first agent got %q", got)
	}

	cfg2 := h.agentConfig(t, "c1", second) // may not reach first
	cfg2.MinBackoff, cfg2.MaxBackoff = time.Hour, time.Hour
	b := startAgent(t, cfg2)
	b.waitConnect(t)
	for deadline := time.Now().Add(5 * time.Second); h.srv.Sessions("c1") != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions, want both agents' 2", h.srv.Sessions("c1"))
		}
	}
	if got := readFrom(t, h.srv, "c1", second); got != "second" {
		t.Fatalf("through the newest agent got %q", got)
	}
	b.cancel()
	b.waitDisconnect(t)
	for deadline := time.Now().Add(5 * time.Second); h.srv.Sessions("c1") != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions after the second agent left, want 1", h.srv.Sessions("c1"))
		}
	}
	if got := readFrom(t, h.srv, "c1", first); got != "first" {
		t.Fatalf("through the first agent, after the second left, got %q", got)
	}
	if got := <-h.changes; got != (change{"c1", true}) {
		t.Errorf("OnChange got %+v, want %+v", got, change{"c1", true})
	}
	if len(h.changes) != 0 {
		t.Errorf("OnChange got %+v while the first session was up", <-h.changes)
	}
	a.cancel()
	a.waitDisconnect(t)
	if got := <-h.changes; got != (change{"c1", false}) {
		t.Errorf("OnChange got %+v when the last session ended, want %+v", got, change{"c1", false})
	}
	// OnCount heard every change, the second agent's coming and going too.
	var got []int
	for range 4 {
		select {
		case n := <-counts:
			got = append(got, n)
		case <-time.After(5 * time.Second):
		}
	}
	if len(counts) > 0 {
		got = append(got, <-counts)
	}
	if want := []int{1, 2, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("OnCount got %v, want %v", got, want)
	}
}

// Past MaxSessions, connections are refused with 429 and the live
// sessions stay.
func TestSessionLimit(t *testing.T) {
	h := newHarness(t, func(c *ServerConfig) { c.MaxSessions = 1 })
	a := startAgent(t, h.agentConfig(t, "c1"))
	a.waitConnect(t)
	h.waitConnected(t, "c1")
	d := websocket.Dialer{TLSClientConfig: h.tls}
	_, resp, err := d.Dial(h.url, http.Header{"Authorization": {testToken}, "X-Test-Cluster": {"c1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second connection past the limit: err %v, response %v; want 429", err, resp)
	}
	if n := h.srv.Sessions("c1"); n != 1 {
		t.Errorf("got %d sessions, want the first one only", n)
	}
}

// readFrom dials addr through the cluster and reads until EOF.
func readFrom(t *testing.T, srv *Server, cluster, addr string) string {
	t.Helper()
	c, err := srv.DialContext(context.Background(), cluster, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStreamSurvivesOtherAgentLeaving: with two agents of one cluster, a
// stream open through one of them keeps working when the other goes away,
// and new streams go through the one that is left.
func TestStreamSurvivesOtherAgentLeaving(t *testing.T) {
	echo := serveTCP(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
	h := newHarness(t, nil)
	start := func() *testAgent {
		cfg := h.agentConfig(t, "c1", echo)
		cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour // no reconnect
		a := startAgent(t, cfg)
		a.waitConnect(t)
		return a
	}
	first := start()
	// The server may register a session after the agent sees it up: the
	// first must be there before the second comes, to be the older.
	for deadline := time.Now().Add(5 * time.Second); h.srv.Sessions("c1") != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions, want 1", h.srv.Sessions("c1"))
		}
	}
	second := start()
	for deadline := time.Now().Add(5 * time.Second); h.srv.Sessions("c1") != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions, want 2", h.srv.Sessions("c1"))
		}
	}
	// The stream goes through the newest session, the second agent's.
	conn, err := h.srv.DialContext(context.Background(), "c1", "tcp", echo)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip := func(msg string) {
		t.Helper()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, buf, err)
		}
	}
	roundTrip("before")
	first.cancel()
	first.waitDisconnect(t)
	for deadline := time.Now().Add(5 * time.Second); h.srv.Sessions("c1") != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions after the first agent left, want 1", h.srv.Sessions("c1"))
		}
	}
	roundTrip("after the other agent left")
	fresh, err := h.srv.DialContext(context.Background(), "c1", "tcp", echo)
	if err != nil {
		t.Fatalf("a new stream after the first agent left: %v", err)
	}
	conn.Close()
	conn = fresh
	roundTrip("through the agent that is left")
	second.cancel()
	second.waitDisconnect(t)
}
