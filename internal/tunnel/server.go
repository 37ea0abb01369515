package tunnel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// Server is the server end of agent tunnels: an http.Handler for the connect
// endpoint that keeps the sessions of each cluster (one per agent replica,
// at most MaxSessions), and per-cluster dialers that open streams through
// the newest of them. A new session never evicts a healthy one.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	upgrader websocket.Upgrader

	changeMu sync.Mutex // serializes session changes with their OnChange calls
	mu       sync.Mutex
	sessions map[string][]*yamux.Session // oldest first
	conns    map[*yamux.Session]*wsConn  // of the sessions, for the watchdog
	closed   bool
	watching bool // the watchdog runs
	stop     chan struct{}
	active   sync.WaitGroup // sessions (and connect handlers) not yet ended
	accepted atomic.Uint64  // sessions registered so far
	streams  streamMeter
}

var _ http.Handler = (*Server)(nil)

// NewServer checks cfg and returns a server with no sessions.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg: cfg,
		log: cfg.Logger,
		// Thousands of sessions are mostly idle: each reads frame headers
		// through a small buffer (payloads bypass it; yamux buffers its
		// own reads) and takes a write buffer from a pool only while it
		// writes a message.
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   wsServerReadBuffer,
			WriteBufferSize:  wsReadBuffer, // unmasked: large writes bypass it
			WriteBufferPool:  &sync.Pool{},
		},
		sessions: map[string][]*yamux.Session{},
		conns:    map[*yamux.Session]*wsConn{},
		stop:     make(chan struct{}),
	}, nil
}

// ServeHTTP authorizes an agent, upgrades its request to a WebSocket and
// starts its session, which outlives the handler. The server is the yamux
// client: it opens the streams.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	clusterID, err := s.cfg.Authorize(r)
	if err == nil && clusterID == "" {
		err = errors.New("no cluster id")
	}
	if err != nil {
		s.log.Warn("agent connection refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	if n := s.Sessions(clusterID); n >= s.cfg.MaxSessions {
		s.log.Warn("agent connection refused", "cluster", clusterID, "remote", r.RemoteAddr, "err", ErrTooManySessions, "sessions", n)
		http.Error(w, ErrTooManySessions.Error(), http.StatusTooManyRequests)
		return
	}
	if !s.enter() {
		http.Error(w, ErrServerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil) // answers the client on error
	if err != nil {
		s.active.Done()
		s.log.Info("agent upgrade failed", "cluster", clusterID, "remote", r.RemoteAddr, "err", err)
		return
	}
	s.serve(clusterID, r.RemoteAddr, newWSConn(ws))
}

// serve starts a session on conn and registers it. The handler returns
// then, so that an idle session costs no goroutine of the HTTP server:
// the session's end, when yamux closes conn, unregisters it.
func (s *Server) serve(clusterID, remote string, conn *wsConn) {
	start := time.Now()
	var registered atomic.Bool
	ready := make(chan *yamux.Session, 1)
	conn.onClose = func() {
		go func() {
			defer s.active.Done()
			mux := <-ready
			if mux == nil || !registered.Load() {
				return
			}
			s.unregister(clusterID, mux)
			s.log.Info("agent disconnected", "cluster", clusterID, "remote", remote,
				"duration", time.Since(start).Round(time.Millisecond))
		}()
	}
	mux, err := yamux.Client(conn, serverMuxConfig(s.cfg.KeepAlive, s.log))
	if err != nil { // only for an invalid yamux config
		ready <- nil
		conn.Close()
		s.log.Error("agent session failed", "cluster", clusterID, "err", err)
		return
	}
	registered.Store(true)
	if err := s.register(clusterID, mux, conn); err != nil {
		registered.Store(false)
		ready <- mux
		s.log.Warn("agent session refused", "cluster", clusterID, "remote", remote, "err", err)
		return
	}
	ready <- mux
	s.log.Info("agent connected", "cluster", clusterID, "remote", remote)
}

// enter counts a connect handler in, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active.Add(1)
	return true
}

// register adds mux to the cluster's sessions. Sessions that have ended
// are dropped; a cluster that already holds MaxSessions live ones refuses
// mux (the agent retries later) rather than evicting a healthy session.
func (s *Server) register(clusterID string, mux *yamux.Session, conn *wsConn) error {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		mux.Close()
		return ErrServerClosed
	}
	live := slices.DeleteFunc(s.sessions[clusterID], (*yamux.Session).IsClosed)
	if len(live) >= s.cfg.MaxSessions {
		s.sessions[clusterID] = live
		s.mu.Unlock()
		mux.Close()
		return fmt.Errorf("%w: the cluster holds %d sessions", ErrTooManySessions, len(live))
	}
	first := len(live) == 0
	s.sessions[clusterID] = append(live, mux)
	count := len(s.sessions[clusterID])
	s.conns[mux] = conn
	if !s.watching {
		s.watching = true
		go s.watchdog()
	}
	s.mu.Unlock()
	if first {
		s.cfg.OnChange(clusterID, true)
	}
	s.accepted.Add(1)
	s.cfg.OnCount(clusterID, count)
	return nil
}

// unregister forgets mux; OnChange hears of it when it was the last.
func (s *Server) unregister(clusterID string, mux *yamux.Session) {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	s.mu.Lock()
	list := s.sessions[clusterID]
	i := slices.Index(list, mux)
	if i >= 0 {
		list = slices.Delete(slices.Clone(list), i, i+1)
		if len(list) == 0 {
			delete(s.sessions, clusterID)
		} else {
			s.sessions[clusterID] = list
		}
	}
	last := i >= 0 && len(list) == 0
	delete(s.conns, mux)
	s.mu.Unlock()
	if last {
		s.cfg.OnChange(clusterID, false)
	}
	if i >= 0 {
		s.cfg.OnCount(clusterID, len(list))
	}
}

// live returns the cluster's sessions that have not ended, newest first.
func (s *Server) live(clusterID string) []*yamux.Session {
	s.mu.Lock()
	list := slices.Clone(s.sessions[clusterID])
	s.mu.Unlock()
	slices.Reverse(list)
	return slices.DeleteFunc(list, (*yamux.Session).IsClosed)
}

// Accepted is the number of sessions the server has registered since it
// started (a counter).
func (s *Server) Accepted() uint64 { return s.accepted.Load() }

// Connected reports whether the cluster has a live session.
func (s *Server) Connected(clusterID string) bool {
	return len(s.live(clusterID)) > 0
}

// Sessions is the number of the cluster's live sessions.
func (s *Server) Sessions(clusterID string) int {
	return len(s.live(clusterID))
}

// Disconnect closes every session of the cluster and reports whether there
// was one. Agents will reconnect unless they are refused.
func (s *Server) Disconnect(clusterID string) bool {
	s.mu.Lock()
	list := slices.Clone(s.sessions[clusterID])
	s.mu.Unlock()
	for _, mux := range list {
		s.unregister(clusterID, mux) // now, so that OnChange reports it first
		mux.Close()
	}
	return len(list) > 0
}

// Close ends every session, refuses new ones and waits for the connect
// handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	var muxes []*yamux.Session
	for _, list := range s.sessions {
		muxes = append(muxes, list...)
	}
	s.mu.Unlock()
	for _, mux := range muxes {
		mux.Close()
	}
	s.active.Wait()
	return nil
}

// Clusters lists the clusters with a live session.
func (s *Server) Clusters() []string {
	s.mu.Lock()
	ids := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	return slices.DeleteFunc(ids, func(id string) bool { return !s.Connected(id) })
}

// silentFor is how many keepalive intervals a session may stay silent
// (the agent pings every interval) before the server closes it.
const silentFor = 3

// watchdog closes, until the server closes, the sessions that heard
// nothing from their agent for silentFor keepalive intervals: a dead
// agent or link. Agents ping every interval, so one goroutine for all
// sessions replaces a ping loop (a goroutine and two frames per
// interval) per session.
func (s *Server) watchdog() {
	t := time.NewTicker(s.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		limit := time.Now().Add(-silentFor * s.cfg.KeepAlive).UnixNano()
		var silent []*yamux.Session
		s.mu.Lock()
		for mux, conn := range s.conns {
			if conn.lastRead.Load() < limit {
				silent = append(silent, mux)
			}
		}
		s.mu.Unlock()
		for _, mux := range silent {
			s.log.Warn("agent silent: closing its session", "remote", mux.RemoteAddr(), "silentFor", silentFor*s.cfg.KeepAlive)
			mux.Close()
		}
	}
}
