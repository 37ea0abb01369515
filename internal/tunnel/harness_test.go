package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is the registration token the harness accepts; the cluster id
// comes from the X-Test-Cluster header.
const testToken = "Bearer registration-token"

// waitFor bounds every wait in the tests.
const waitFor = 20 * time.Second

// harness is a tunnel server behind a real TLS listener on loopback.
type harness struct {
	srv     *Server
	https   *httptest.Server
	url     string
	tls     *tls.Config
	changes chan change
}

type change struct {
	cluster   string
	connected bool
}

// newHarness starts a Server at /v1/connect; mod may change its config.
func newHarness(t testing.TB, mod func(*ServerConfig)) *harness {
	t.Helper()
	h := &harness{changes: make(chan change, 100)}
	cfg := ServerConfig{
		Authorize: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != testToken {
				return "", errors.New("bad registration token")
			}
			return r.Header.Get("X-Test-Cluster"), nil
		},
		OnChange: func(c string, up bool) { h.changes <- change{c, up} },
		Logger:   testLogger(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/v1/connect", srv)
	h.https = httptest.NewUnstartedServer(mux)
	h.https.StartTLS()
	h.url = "wss" + strings.TrimPrefix(h.https.URL, "https") + "/v1/connect"
	h.tls = h.https.Client().Transport.(*http.Transport).TLSClientConfig
	t.Cleanup(func() { h.https.Close(); h.srv.Close() })
	return h
}

// agentConfig is a configuration for cluster that allows allowed targets.
func (h *harness) agentConfig(t testing.TB, cluster string, allowed ...string) AgentConfig {
	return AgentConfig{
		URL:        h.url,
		Header:     http.Header{"Authorization": {testToken}, "X-Test-Cluster": {cluster}},
		TLSConfig:  h.tls,
		Allow:      func(_, addr string) bool { return slices.Contains(allowed, addr) },
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Logger:     testLogger(t).With("agent", cluster),
	}
}

// waitConnected waits until the server has a session for cluster.
func (h *harness) waitConnected(t testing.TB, cluster string) {
	t.Helper()
	waitConnected(t, h.srv, cluster)
}

// waitConnected waits until srv has a session for cluster: the agent may
// learn of its session a moment before the server registers it.
func waitConnected(t testing.TB, srv *Server, cluster string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !srv.Connected(cluster) {
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: no session after %v", cluster, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is an HTTP client that reaches the cluster through the tunnel.
func (h *harness) client(t testing.TB, cluster string) *http.Client {
	tr := &http.Transport{DialContext: h.srv.Dialer(cluster), MaxIdleConnsPerHost: 100}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitFor}
}

// testAgent is an agent running in the background.
type testAgent struct {
	cancel      context.CancelFunc
	done        chan error
	stopOnce    sync.Once
	connects    chan struct{}
	disconnects chan error
}

// startAgent runs an agent until the test ends.
func startAgent(t testing.TB, cfg AgentConfig) *testAgent {
	t.Helper()
	a := &testAgent{done: make(chan error, 1), connects: make(chan struct{}, 100), disconnects: make(chan error, 100)}
	cfg.OnConnect = func() { a.connects <- struct{}{} }
	cfg.OnDisconnect = func(err error) { a.disconnects <- err }
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() { a.done <- RunAgent(ctx, cfg) }()
	t.Cleanup(a.stop)
	return a
}

// stop ends the agent and waits for Run to return.
func (a *testAgent) stop() {
	a.stopOnce.Do(func() {
		a.cancel()
		if err := <-a.done; err != nil {
			panic(err)
		}
	})
}

func (a *testAgent) waitConnect(t testing.TB) {
	t.Helper()
	select {
	case <-a.connects:
	case <-time.After(waitFor):
		t.Fatalf("agent did not connect within %v", waitFor)
	}
}

func (a *testAgent) waitDisconnect(t testing.TB) error {
	t.Helper()
	select {
	case err := <-a.disconnects:
		return err
	case <-time.After(waitFor):
		t.Fatalf("agent did not notice the disconnection within %v", waitFor)
		return nil
	}
}

// startEcho starts a TCP server that echoes until the client half-closes.
// It copies through a buffer: splice would keep pipes in a pool, which the
// leak test would count as descriptors.
func startEcho(t testing.TB) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c})
		c.(*net.TCPConn).CloseWrite()
	})
}

// serveTCP serves each connection with handle until the test ends, when
// it closes the listener and every connection and waits for the handlers.
func serveTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	conns := connSet{conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); conns.closeAll(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.add(c)
			wg.Go(func() {
				defer conns.remove(c)
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// connSet tracks open connections so that they can all be closed.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (s *connSet) add(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
	}
	s.conns[c] = true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
}

// testLogger logs to the test's output with -v and HERD_TEST_LOG=1.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("HERD_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
