package tunnel

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAgentReconnectsAfterServerDrop(t *testing.T) {
	echo := startEcho(t)
	h := newHarness(t, nil)
	a := startAgent(t, h.agentConfig(t, "c1", echo))
	a.waitConnect(t)
	h.waitConnected(t, "c1")

	for i := range 3 {
		if !h.srv.Disconnect("c1") {
			t.Fatalf("round %d: Disconnect found no session", i)
		}
		a.waitDisconnect(t)
		a.waitConnect(t)
		h.waitConnected(t, "c1")
		if err := echoThrough(h.srv, "c1", echo, 1000); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	want := []change{{"c1", true}, {"c1", false}, {"c1", true}}
	for _, w := range want {
		if got := <-h.changes; got != w {
			t.Errorf("OnChange got %+v, want %+v", got, w)
		}
	}
}

func TestAgentReconnectsAfterServerRestart(t *testing.T) {
	echo := startEcho(t)
	h := newHarness(t, nil)
	addr := h.https.Listener.Addr().String()
	a := startAgent(t, h.agentConfig(t, "c1", echo))
	a.waitConnect(t)

	h.https.Close()
	h.srv.Close()
	a.waitDisconnect(t)
	time.Sleep(300 * time.Millisecond) // a few failed attempts

	srv, err := NewServer(ServerConfig{
		Authorize: func(*http.Request) (string, error) { return "c1", nil },
		Logger:    testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	restarted := httptest.NewUnstartedServer(srv) // the same test certificate
	restarted.Listener.Close()
	if restarted.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	restarted.StartTLS()
	t.Cleanup(func() { restarted.Close(); srv.Close() })

	a.waitConnect(t)
	waitConnected(t, srv, "c1")
	if err := echoThrough(srv, "c1", echo, 1000); err != nil {
		t.Fatal(err)
	}
}

func TestKeepaliveNoticesDeadLink(t *testing.T) {
	echo := startEcho(t)
	const keepAlive = 250 * time.Millisecond
	h := newHarness(t, func(c *ServerConfig) { c.KeepAlive = keepAlive })
	proxy := startFreezer(t, h.https.Listener.Addr().String())
	cfg := h.agentConfig(t, "c1", echo)
	cfg.URL = "wss://" + proxy.addr + "/v1/connect"
	cfg.KeepAlive = keepAlive
	a := startAgent(t, cfg)
	a.waitConnect(t)
	h.waitConnected(t, "c1")
	if err := echoThrough(h.srv, "c1", echo, 1000); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	proxy.freeze()
	err := a.waitDisconnect(t)
	t.Logf("the agent noticed the dead link after %v: %v", time.Since(start), err)
	a.waitConnect(t)
	// The server closes the frozen session too (its agent went silent),
	// and then dials through the new one.
	for deadline := time.Now().Add(10 * keepAlive * silentFor); h.srv.Sessions("c1") != 1 || echoThrough(h.srv, "c1", echo, 1000) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d sessions of c1, want the new one only; echo: %v", h.srv.Sessions("c1"), echoThrough(h.srv, "c1", echo, 1000))
		}
	}
	if proxy.frozen.Load() == 0 {
		t.Error("the proxy froze no connection; the test proved nothing")
	}
}

func TestAgentThroughHTTPProxy(t *testing.T) {
	echo := startEcho(t)
	h := newHarness(t, nil)
	proxy, connects := startConnectProxy(t)
	cfg := h.agentConfig(t, "c1", echo)
	cfg.Proxy = http.ProxyURL(proxy)
	startAgent(t, cfg)
	h.waitConnected(t, "c1")
	if err := echoThrough(h.srv, "c1", echo, 300<<10); err != nil {
		t.Fatal(err)
	}
	if n := connects.Load(); n != 1 {
		t.Errorf("the proxy saw %d CONNECTs, want 1", n)
	}
}

// startConnectProxy starts an HTTP proxy that serves CONNECT only.
func startConnectProxy(t *testing.T) (*url.URL, *atomic.Int32) {
	connects := new(atomic.Int32)
	var wg sync.WaitGroup
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		connects.Add(1)
		c, brw, _ := http.NewResponseController(w).Hijack()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		wg.Go(func() { io.Copy(up, brw); up.Close() })
		wg.Go(func() { io.Copy(c, up); c.Close() })
	}))
	t.Cleanup(func() { proxy.Close(); wg.Wait() })
	u, _ := url.Parse(proxy.URL)
	return u, connects
}

// freezer is a TCP proxy whose connections can be frozen: they stop
// forwarding, without closing, like a link that died silently.
type freezer struct {
	addr    string
	release chan struct{}
	frozen  atomic.Int32

	mu    sync.Mutex
	flags []*atomic.Bool
}

func startFreezer(t *testing.T, target string) *freezer {
	f := &freezer{release: make(chan struct{})}
	f.addr = serveTCP(t, func(c net.Conn) {
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer up.Close()
		frozen := new(atomic.Bool)
		f.mu.Lock()
		f.flags = append(f.flags, frozen)
		f.mu.Unlock()
		var wg sync.WaitGroup
		wg.Go(func() { f.forward(up, c, frozen) })
		f.forward(c, up, frozen)
		wg.Wait()
	})
	t.Cleanup(func() { close(f.release) }) // runs before serveTCP's cleanup
	return f
}

// freeze stops every connection open now.
func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, frozen := range f.flags {
		frozen.Store(true)
	}
}

func (f *freezer) forward(dst, src net.Conn, frozen *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if frozen.Load() {
			f.frozen.Add(1)
			<-f.release
			return
		}
		if _, werr := dst.Write(buf[:n]); err != nil || werr != nil {
			if err == io.EOF {
				dst.(*net.TCPConn).CloseWrite()
				return
			}
			src.Close()
			dst.Close()
			return
		}
	}
}
