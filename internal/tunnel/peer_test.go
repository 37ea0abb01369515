package tunnel

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"herd.dev/herd/internal/certs"
)

// testReplica is one side of peer links in a test: it "holds" keys that
// dial an address on this host.
type testReplica struct {
	peers *Peers
	addr  string
	mu    sync.Mutex
	keys  map[string]string // key -> target address
	count map[string]int    // key -> sessions, when not 1
}

// setCount makes the replica hold n sessions under a key it holds.
func (r *testReplica) setCount(key string, n int) {
	r.mu.Lock()
	r.count[key] = n
	r.mu.Unlock()
	r.peers.Announce(key)
}

func (r *testReplica) set(key, target string) {
	r.mu.Lock()
	if target == "" {
		delete(r.keys, key)
	} else {
		r.keys[key] = target
	}
	r.mu.Unlock()
	r.peers.Announce(key)
}

func newCA(t testing.TB) *certs.Authority {
	dir := t.TempDir()
	ca, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func peerCert(t testing.TB, ca *certs.Authority, id string, orgs ...string) tls.Certificate {
	c, err := ca.Issue(certs.Leaf{CommonName: id, Organizations: orgs, Server: true, Client: true}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startReplica(t testing.TB, ca *certs.Authority, id string, known ...string) *testReplica {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	r := &testReplica{keys: map[string]string{}, count: map[string]int{}}
	p, err := NewPeers(PeerConfig{
		ID: id, Certificate: peerCert(t, ca, id, PeerOrganization), CA: pool, KeepAlive: time.Second,
		Known: func(id string) bool { return strings.Contains(strings.Join(known, ","), id) },
		Keys: func() []string {
			r.mu.Lock()
			defer r.mu.Unlock()
			var out []string
			for k := range r.keys {
				out = append(out, k)
			}
			return out
		},
		Holds: func(key string) int {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.keys[key] == "" {
				return 0
			}
			return max(r.count[key], 1)
		},
		Dial: func(ctx context.Context, key, network, addr string) (net.Conn, error) {
			r.mu.Lock()
			target := r.keys[key]
			r.mu.Unlock()
			if target == "" || addr != "kube:443" {
				return nil, ErrNotConnected
			}
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.peers = p
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go p.Serve(ln)
	t.Cleanup(p.Close)
	return r
}

func waitHolder(t testing.TB, p *Peers, key, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, _ := p.Holder(key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("holder of %s is %q, want %q", key, got, want)
		}
	}
}

// TestPeers links two replicas, reaches a target through the other one's
// key, follows announcements, and ends streams when a replica vanishes.
func TestPeers(t *testing.T) {
	ca := newCA(t)
	echo := startEcho(t)
	a := startReplica(t, ca, "a", "b")
	b := startReplica(t, ca, "b", "a")
	a.set("agent:east", echo) // before the link: sent with the first snapshot
	a.peers.Sync(map[string]string{"b": b.addr})
	b.peers.Sync(map[string]string{"a": a.addr}) // b does not dial a: a has the lower ID
	waitHolder(t, b.peers, "agent:east", "a")
	if got := b.peers.Linked(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("b's links: %v, want [a]", got)
	}
	if got := a.peers.Linked(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("a's links: %v, want [b] (one link per pair)", got)
	}

	conn, err := b.peers.Dial(context.Background(), "agent:east", "tcp", "kube:443")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("echo through the peer: %q, %v", line, err)
	}
	if _, err := b.peers.Dial(context.Background(), "agent:east", "tcp", "elsewhere:443"); !errors.Is(err, ErrDialFailed) {
		t.Errorf("a target the holder refuses: %v, want ErrDialFailed", err)
	}
	if _, err := b.peers.Dial(context.Background(), "agent:west", "tcp", "kube:443"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("a key nobody holds: %v, want ErrNotConnected", err)
	}

	b.set("agent:west", echo) // announced the other way
	waitHolder(t, a.peers, "agent:west", "b")
	a.set("agent:east", "")
	waitHolder(t, b.peers, "agent:east", "")

	// The replica vanishes mid-stream: the stream ends, nothing is held.
	a.set("agent:east", echo)
	waitHolder(t, b.peers, "agent:east", "a")
	conn, err = b.peers.Dial(context.Background(), "agent:east", "tcp", "kube:443")
	if err != nil {
		t.Fatal(err)
	}
	a.peers.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, io.EOF) && strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the stream hung after its peer vanished: %v", err)
	}
	waitHolder(t, b.peers, "agent:east", "")
}

// TestPeerSessions: a peer's sessions under a key are announced as a count,
// summed over the peers, and a replica synced but not linked is named.
func TestPeerSessions(t *testing.T) {
	ca := newCA(t)
	echo := startEcho(t)
	a := startReplica(t, ca, "a", "b", "c")
	b := startReplica(t, ca, "b", "a", "c")
	c := startReplica(t, ca, "c", "a", "b")
	a.set("agent:east", echo)
	a.setCount("agent:east", 3)
	b.set("agent:east", echo)
	c.peers.Sync(map[string]string{"a": a.addr, "b": b.addr, "z": "127.0.0.1:1"})
	a.peers.Sync(map[string]string{"c": c.addr})
	b.peers.Sync(map[string]string{"c": c.addr})
	waitSessions := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); c.peers.Sessions("agent:east") != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("c counts %d sessions of agent:east at its peers, want %d", c.peers.Sessions("agent:east"), want)
			}
		}
	}
	waitSessions(4)
	if got := c.peers.Unlinked(); !slices.Equal(got, []string{"z"}) {
		t.Errorf("c's unlinked replicas: %v, want [z] (it has no listener)", got)
	}
	a.setCount("agent:east", 1)
	waitSessions(2)
	a.setCount("agent:east", 2)
	b.set("agent:east", "")
	waitSessions(2)
	if got := c.peers.Sessions("agent:west"); got != 0 {
		t.Errorf("sessions of a key nobody holds: %d", got)
	}
	b.peers.Close()
	a.peers.Close()
	waitSessions(0)
	if got := c.peers.Unlinked(); !slices.Equal(got, []string{"a", "b", "z"}) {
		t.Errorf("c's unlinked replicas after a and b closed: %v", got)
	}
}

// TestPeerRefused: only a known replica with a lower ID, presenting a peer
// certificate of the CA, gets a link; the dialer checks the ID it dials.
func TestPeerRefused(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	b := startReplica(t, ca, "b", "a", "c")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tests := []struct {
		name string
		cert tls.Certificate
	}{
		{"another CA", peerCert(t, other, "a", PeerOrganization)},
		{"not a peer certificate", peerCert(t, ca, "a")},
		{"an unknown replica", peerCert(t, ca, "0", PeerOrganization)},
		{"a higher ID", peerCert(t, ca, "c", PeerOrganization)},
		{"this replica's own ID", peerCert(t, ca, "b", PeerOrganization)},
		{"no certificate", tls.Certificate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
			if len(tt.cert.Certificate) > 0 {
				cfg.Certificates = []tls.Certificate{tt.cert}
			}
			conn, err := tls.Dial("tcp", b.addr, cfg)
			if err == nil {
				// TLS 1.3 reports a refused client certificate on the first read.
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				conn.Close()
			}
			if err == nil || strings.Contains(err.Error(), "timeout") {
				t.Fatalf("link accepted or left hanging: %v", err)
			}
			if got := b.peers.Linked(); len(got) != 0 {
				t.Fatalf("b's links: %v, want none", got)
			}
		})
	}

	// A dialer refuses a server whose certificate names another replica.
	a := startReplica(t, ca, "a", "b")
	if _, err := a.peers.dial(context.Background(), "z", b.addr); !errors.Is(err, ErrNotPeer) {
		t.Errorf("dialing z at b's address: %v, want ErrNotPeer", err)
	}
}

// TestPeerCountsCompat: a peer that does not say it reads counts (a replica
// of an earlier version) is told of one session per key; once a peer says
// it does, every key is announced again with its count.
func TestPeerCountsCompat(t *testing.T) {
	ca := newCA(t)
	echo := startEcho(t)
	b := startReplica(t, ca, "b", "a")
	b.set("agent:east", echo)
	b.setCount("agent:east", 3)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, c := range []struct {
		hello string
		kind  byte
		body  string
	}{
		{"", kindHeld, "agent:east"},
		{announceCounts, kindCount, "3 agent:east"},
	} {
		// The test is replica a: it dials b and announces itself.
		conn, err := tls.Dial("tcp", b.addr, &tls.Config{Certificates: []tls.Certificate{peerCert(t, ca, "a", PeerOrganization)},
			RootCAs: pool, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatal(err)
		}
		mux, err := yamux.Client(conn, muxConfig(time.Second, slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		mine, err := mux.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFrame(mine, kindAnnounce, c.hello); err != nil {
			t.Fatal(err)
		}
		theirs, err := mux.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		theirs.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(theirs)
		if kind, body, err := readFrame(r); err != nil || kind != kindAnnounce || body != announceCounts {
			t.Fatalf("b's announce stream opens with %c %q, %v", kind, body, err)
		}
		// The last word on the key, once b has sent what it will.
		var kind byte
		var body string
		for kind != c.kind {
			if kind, body, err = readFrame(r); err != nil {
				t.Fatalf("hello %q: no %c frame from b: %v", c.hello, c.kind, err)
			}
		}
		if body != c.body {
			t.Errorf("hello %q: b announced %c %q, want %q", c.hello, kind, body, c.body)
		}
		mux.Close()
	}
}
