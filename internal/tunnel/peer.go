package tunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// PeerOrganization is the Organization of every peer certificate: a
// certificate of the same CA without it (the serving certificate, say) is
// not a peer.
const PeerOrganization = "herd:peers"

// ErrNotPeer: a connection presented no valid peer certificate.
var ErrNotPeer = errors.New("tunnel: not a peer")

// PeerConfig configures Peers. Zero values are documented per field.
type PeerConfig struct {
	// ID names this replica: the CommonName of Certificate. Required.
	ID string
	// Certificate is this replica's peer certificate, for client and
	// server authentication, with Organization PeerOrganization. Required.
	Certificate tls.Certificate
	// CA verifies the peers' certificates. Required.
	CA *x509.CertPool
	// Known reports whether id names a current replica; a link from any
	// other is refused. Required.
	Known func(id string) bool
	// Keys lists what this replica holds (sent whole over a new link) and
	// Holds counts the sessions it holds under one key (0: none).
	// Required.
	Keys  func() []string
	Holds func(key string) int
	// Dial connects to a target through what this replica holds under
	// key, for a peer. Required.
	Dial func(ctx context.Context, key, network, addr string) (net.Conn, error)
	// OnChange is told that whether a peer holds key may have changed. It
	// must not block. Nil: none.
	OnChange func(key string)
	// KeepAlive is as in ServerConfig. Zero: DefaultKeepAlive.
	KeepAlive time.Duration
	// DialTimeout bounds a link's TCP and TLS handshakes and a stream's
	// answer. Zero: DefaultDialTimeout.
	DialTimeout time.Duration
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
}

// Validate checks the configuration; errors name the field at fault.
func (c *PeerConfig) Validate() error {
	switch {
	case c.ID == "":
		return fmt.Errorf("%w: PeerConfig.ID is required", ErrConfig)
	case len(c.Certificate.Certificate) == 0 || c.CA == nil:
		return fmt.Errorf("%w: PeerConfig.Certificate and CA are required", ErrConfig)
	case c.Known == nil || c.Keys == nil || c.Holds == nil || c.Dial == nil:
		return fmt.Errorf("%w: PeerConfig.Known, Keys, Holds and Dial are required", ErrConfig)
	case c.KeepAlive < 0 || c.DialTimeout < 0:
		return fmt.Errorf("%w: PeerConfig durations must not be negative", ErrConfig)
	}
	return nil
}

// Peers links this replica to the others: one mutually authenticated
// link per pair (the replica with the lower ID dials), multiplexed with
// the tunnel's flow control. Over a link each side announces the keys
// (tunnel sessions) it holds, and opens streams to targets that the other
// reaches through what it holds.
type Peers struct {
	cfg    PeerConfig
	log    *slog.Logger
	bufs   sync.Pool // *[]byte of pipeBuffer bytes
	server *tls.Config
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	links   map[string]*peerLink          // by peer ID
	dialers map[string]context.CancelFunc // by peer ID, for higher IDs
	addrs   map[string]string             // peer ID -> address being dialed
	members map[string]struct{}           // the other replicas, as last synced
	wg      sync.WaitGroup
}

// NewPeers checks cfg and returns Peers with no links.
func NewPeers(cfg PeerConfig) (*Peers, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.KeepAlive = or(cfg.KeepAlive, DefaultKeepAlive)
	cfg.DialTimeout = or(cfg.DialTimeout, DefaultDialTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(string) {}
	}
	p := &Peers{cfg: cfg, log: cfg.Logger.With("peer", cfg.ID), links: map[string]*peerLink{}, dialers: map[string]context.CancelFunc{},
		addrs: map[string]string{}, bufs: sync.Pool{New: func() any { b := make([]byte, pipeBuffer); return &b }}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.server = &tls.Config{
		Certificates: []tls.Certificate{cfg.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    cfg.CA,
		MinVersion:   tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := p.verify(cs, x509.ExtKeyUsageClientAuth, "")
			return err
		},
	}
	return p, nil
}

// client is the TLS configuration of a link to the peer id: its
// certificate must be a peer certificate of the CA naming id.
func (p *Peers) client(id string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.cfg.Certificate},
		MinVersion:   tls.VersionTLS13,
		// The peer is checked by VerifyConnection: its CA and its ID, not
		// a host name (replicas are known by ID, their addresses change).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := p.verify(cs, x509.ExtKeyUsageServerAuth, id)
			return err
		},
	}
}

// verify checks that the other end presented a peer certificate of the
// CA (naming want, when given) and returns its ID.
func (p *Peers) verify(cs tls.ConnectionState, usage x509.ExtKeyUsage, want string) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", fmt.Errorf("%w: no certificate", ErrNotPeer)
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.cfg.CA, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotPeer, leaf.Subject.CommonName, err)
	}
	id := leaf.Subject.CommonName
	switch {
	case !slices.Contains(leaf.Subject.Organization, PeerOrganization):
		return "", fmt.Errorf("%w: certificate %q is not a peer certificate", ErrNotPeer, id)
	case want != "" && id != want:
		return "", fmt.Errorf("%w: certificate names %q, want %q", ErrNotPeer, id, want)
	case id == p.cfg.ID:
		return "", fmt.Errorf("%w: certificate names this replica %q", ErrNotPeer, id)
	}
	return id, nil
}

// Serve accepts links on ln until it fails or Close; a link is accepted
// from a known replica with a lower ID presenting its peer certificate.
func (p *Peers) Serve(ln net.Listener) error {
	context.AfterFunc(p.ctx, func() { ln.Close() })
	for {
		conn, err := ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("peer listener failed: %w", err)
		}
		p.mu.Lock()
		if p.ctx.Err() != nil {
			p.mu.Unlock()
			conn.Close()
			return nil
		}
		p.wg.Go(func() { p.accept(conn) })
		p.mu.Unlock()
	}
}

func (p *Peers) accept(conn net.Conn) {
	tc := tls.Server(conn, p.server)
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	var id string
	if err == nil {
		id, err = p.verify(tc.ConnectionState(), x509.ExtKeyUsageClientAuth, "")
	}
	switch {
	case err != nil:
	case id > p.cfg.ID:
		err = fmt.Errorf("replica %s has the higher ID: this replica dials it", id)
	case !p.cfg.Known(id):
		err = fmt.Errorf("replica %s has no current lease", id)
	}
	if err != nil {
		p.log.Warn("peer link refused", "remote", conn.RemoteAddr().String(), "err", err)
		conn.Close()
		return
	}
	mux, err := yamux.Server(tc, muxConfig(p.cfg.KeepAlive, p.log))
	if err != nil {
		conn.Close()
		return
	}
	p.serveLink(id, mux)
}

// Sync makes the links match the current replicas (ID -> peer address):
// it dials the ones with a higher ID and closes links to replicas gone.
func (p *Peers) Sync(members map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	p.members = map[string]struct{}{}
	for id := range members {
		p.members[id] = struct{}{}
	}
	for id, stop := range p.dialers {
		if addr, ok := members[id]; !ok || addr != p.addrs[id] {
			stop()
			delete(p.dialers, id)
			delete(p.addrs, id)
		}
	}
	for id, l := range p.links {
		if _, ok := members[id]; !ok {
			l.mux.Close()
		}
	}
	for id, addr := range members {
		if id <= p.cfg.ID || p.dialers[id] != nil {
			continue
		}
		ctx, stop := context.WithCancel(p.ctx)
		p.dialers[id], p.addrs[id] = stop, addr
		p.wg.Go(func() { p.keepLinked(ctx, id, addr) })
	}
}

// keepLinked dials the peer and serves the link, again with backoff
// whenever it ends, until ctx ends.
func (p *Peers) keepLinked(ctx context.Context, id, addr string) {
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	for {
		start := time.Now()
		mux, err := p.dial(ctx, id, addr)
		if err == nil {
			stop := context.AfterFunc(ctx, func() { mux.Close() })
			p.serveLink(id, mux)
			stop()
		} else if ctx.Err() == nil {
			p.log.Warn("peer link failed", "to", id, "addr", addr, "err", err)
		}
		if time.Since(start) >= stableSession {
			b.reset()
		}
		if !sleep(ctx, b.next()) {
			return
		}
	}
}

func (p *Peers) dial(ctx context.Context, id, addr string) (*yamux.Session, error) {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	d := tls.Dialer{Config: p.client(id)}
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	mux, err := yamux.Client(conn, muxConfig(p.cfg.KeepAlive, p.log))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return mux, nil
}

// Close ends every link, stops dialing and waits for the links' goroutines.
func (p *Peers) Close() {
	p.mu.Lock()
	p.cancel()
	for _, l := range p.links {
		l.mux.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Unlinked lists the replicas (as last synced) with no link up, sorted:
// what they hold is out of this replica's sight.
func (p *Peers) Unlinked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id := range p.members {
		if l := p.links[id]; l == nil || l.mux.IsClosed() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Linked lists the peers with a link up, sorted.
func (p *Peers) Linked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.links))
	for id := range p.links {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
