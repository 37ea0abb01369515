package tunnel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Stream kinds on a peer link: the first frame of every stream.
const (
	kindAnnounce byte = 'A' // the opener's holdings, as frames kindHeld / kindGone
	kindDial     byte = 'D' // body: the key to dial through; then a request
	kindHeld     byte = '+' // body: the key, held by one session
	kindCount    byte = '#' // body: "N key", held by N > 1 sessions
	kindGone     byte = '-'
)

// announceCounts is the body of a kindAnnounce frame from a replica that
// reads kindCount frames. An earlier replica sends an empty body and
// refuses them, so it is told of one session per key instead.
const announceCounts = "counts"

// maxPeerKeys bounds what one peer may announce, and maxPeerSessions the
// sessions it may announce under one key.
const (
	maxPeerKeys     = 1 << 20
	maxPeerSessions = 1 << 16
)

// peerLink is one link to a peer: what the peer holds, and the keys whose
// state is still to be sent to it.
type peerLink struct {
	id  string
	mux *yamux.Session

	mu      sync.Mutex
	held    map[string]int      // sessions by key, as announced by the peer
	pending map[string]struct{} // to announce to the peer
	wake    chan struct{}
	// counts is set once the peer said it reads kindCount frames.
	counts atomic.Bool
}

// serveLink registers a link (replacing an older one with the same peer),
// announces this replica's keys over it, and serves the peer's streams
// until it ends.
func (p *Peers) serveLink(id string, mux *yamux.Session) {
	l := &peerLink{id: id, mux: mux, held: map[string]int{}, pending: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		mux.Close()
		return
	}
	old := p.links[id]
	p.links[id] = l
	p.mu.Unlock()
	// The snapshot is read once the link takes announcements: a tunnel
	// that comes in between is announced, perhaps twice, never lost.
	p.announceAll(l)
	if old != nil {
		old.mux.Close()
	}
	p.log.Info("peer linked", "with", id, "remote", mux.RemoteAddr().String())
	var streams sync.WaitGroup
	streams.Go(func() { p.announce(l) })
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			break
		}
		streams.Go(func() { p.handle(l, st) })
	}
	mux.Close()
	p.mu.Lock()
	if p.links[id] == l {
		delete(p.links, id)
	}
	p.mu.Unlock()
	streams.Wait()
	l.mu.Lock()
	gone := l.held
	l.held = nil
	l.mu.Unlock()
	for k := range gone {
		p.cfg.OnChange(k)
	}
	p.log.Info("peer link ended", "with", id)
}

// announceAll queues every key this replica holds for the link.
func (p *Peers) announceAll(l *peerLink) {
	keys := p.cfg.Keys()
	l.mu.Lock()
	for _, k := range keys {
		l.pending[k] = struct{}{}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Announce tells every peer that whether this replica holds key may have
// changed; the state sent is read when it is sent. It never blocks.
func (p *Peers) Announce(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.mu.Lock()
		l.pending[key] = struct{}{}
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// announce sends this replica's pending keys to the peer until the link
// ends; changes that pile up are sent together.
func (p *Peers) announce(l *peerLink) {
	st, err := l.mux.OpenStream()
	if err != nil {
		return
	}
	defer st.Close()
	w := bufio.NewWriterSize(st, 32<<10)
	if writeFrame(w, kindAnnounce, announceCounts) != nil {
		return
	}
	for {
		select {
		case <-l.mux.CloseChan():
			return
		case <-l.wake:
		}
		l.mu.Lock()
		batch := l.pending
		l.pending = map[string]struct{}{}
		l.mu.Unlock()
		for k := range batch {
			n := p.cfg.Holds(k)
			if !l.counts.Load() {
				n = min(n, 1)
			}
			if writeHolding(w, k, n) != nil {
				l.mux.Close()
				return
			}
		}
		if w.Flush() != nil {
			l.mux.Close()
			return
		}
	}
}

// writeHolding announces that this replica holds n sessions under key.
func writeHolding(w io.Writer, key string, n int) error {
	switch {
	case n <= 0:
		return writeFrame(w, kindGone, key)
	case n == 1:
		return writeFrame(w, kindHeld, key)
	default:
		return writeFrame(w, kindCount, strconv.Itoa(n)+" "+key)
	}
}

// readHolding parses an announcement into a key and its sessions (0:
// gone).
func readHolding(kind byte, body string) (string, int, error) {
	switch kind {
	case kindGone:
		return body, 0, nil
	case kindHeld:
		return body, 1, nil
	case kindCount:
		count, key, ok := strings.Cut(body, " ")
		n, err := strconv.Atoi(count)
		if ok && err == nil && n > 1 && n <= maxPeerSessions && key != "" {
			return key, n, nil
		}
	}
	return "", 0, fmt.Errorf("%w: announcement %q of kind %d", ErrProtocol, body, kind)
}

// handle serves one stream the peer opened.
func (p *Peers) handle(l *peerLink, st *yamux.Stream) {
	defer st.Close()
	st.SetReadDeadline(time.Now().Add(headerTimeout))
	kind, body, err := readFrame(st)
	if err != nil {
		p.log.Info("peer stream dropped: no valid header", "with", l.id, "err", err)
		return
	}
	switch kind {
	case kindAnnounce:
		st.SetReadDeadline(time.Time{})
		if body == announceCounts && !l.counts.Swap(true) {
			// What was sent as one session may be more.
			p.announceAll(l)
		}
		p.readAnnouncements(l, bufio.NewReader(st))
	case kindDial:
		p.serveDial(l, st, body)
	default:
		p.log.Warn("peer stream dropped: unknown kind", "with", l.id, "kind", kind)
	}
}

// readAnnouncements records what the peer holds until its stream ends; a
// malformed announcement ends the link.
func (p *Peers) readAnnouncements(l *peerLink, r *bufio.Reader) {
	for {
		kind, body, err := readFrame(r)
		var key string
		var n int
		if err == nil {
			key, n, err = readHolding(kind, body)
		}
		if err != nil {
			if l.mux.IsClosed() {
				return
			}
			p.log.Warn("peer link closed: bad announcement", "with", l.id, "err", err)
			l.mux.Close()
			return
		}
		l.mu.Lock()
		_, known := l.held[key]
		switch {
		case l.held == nil:
		case n == 0:
			delete(l.held, key)
		case known || len(l.held) < maxPeerKeys:
			l.held[key] = n
		default:
			err = fmt.Errorf("%w: more than %d keys announced", ErrProtocol, maxPeerKeys)
		}
		l.mu.Unlock()
		if err != nil {
			p.log.Warn("peer link closed: bad announcement", "with", l.id, "err", err)
			l.mux.Close()
			return
		}
		p.cfg.OnChange(key)
	}
}

// serveDial connects a peer's stream to a target through what this
// replica holds under key.
func (p *Peers) serveDial(l *peerLink, st *yamux.Stream, key string) {
	network, addr, err := readRequest(st)
	if err != nil {
		p.log.Info("peer stream dropped: no valid request", "with", l.id, "err", err)
		return
	}
	st.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	target, err := p.cfg.Dial(ctx, key, network, addr)
	cancel()
	if err != nil {
		p.log.Info("peer stream failed: dial", "with", l.id, "key", key, "err", err)
		_ = writeReply(st, statusDialFailed, "")
		return
	}
	defer target.Close()
	if writeReply(st, statusOK, "") != nil {
		return
	}
	stop := context.AfterFunc(p.ctx, func() { abort(st, target) })
	defer stop()
	pipe(&p.bufs, st, target)
}

// Holder names a peer that holds key.
func (p *Peers) Holder(key string) (string, bool) {
	if links := p.holders(key); len(links) > 0 {
		return links[0].id, true
	}
	return "", false
}

// Sessions is the number of sessions that the linked peers hold under key,
// as they announced them.
func (p *Peers) Sessions(key string) int {
	n := 0
	for _, l := range p.holders(key) {
		l.mu.Lock()
		n += l.held[key]
		l.mu.Unlock()
	}
	return n
}

// holders lists the links whose peer holds key, by peer ID.
func (p *Peers) holders(key string) []*peerLink {
	p.mu.Lock()
	links := make([]*peerLink, 0, len(p.links))
	for _, l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	links = slices.DeleteFunc(links, func(l *peerLink) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		_, ok := l.held[key]
		return !ok || l.mux.IsClosed()
	})
	slices.SortFunc(links, func(a, b *peerLink) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	return links
}

// Dial connects to a target through a peer that holds key. It fails with
// ErrNotConnected when no peer does.
func (p *Peers) Dial(ctx context.Context, key, network, addr string) (net.Conn, error) {
	err := fmt.Errorf("%w: no peer holds %s", ErrNotConnected, key)
	for _, l := range p.holders(key) {
		st, openErr := l.mux.OpenStream()
		if openErr != nil {
			err = fmt.Errorf("%w: peer %s: %w", ErrNotConnected, l.id, openErr)
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
		err = writeFrame(st, kindDial, key)
		if err == nil {
			err = handshake(dctx, st, network, addr)
		}
		cancel()
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("failed to dial %s %s through peer %s: %w", network, addr, l.id, err)
		}
		return &streamConn{Stream: st, remote: targetAddr{network, addr}}, nil
	}
	return nil, err
}
