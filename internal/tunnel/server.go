package tunnel

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// Server is the server end of agent tunnels: an http.Handler for the connect
// endpoint that keeps one session per cluster, and per-cluster dialers that
// open streams through them.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	upgrader websocket.Upgrader

	changeMu sync.Mutex // serializes session changes with their OnChange calls
	mu       sync.Mutex
	sessions map[string]*yamux.Session
	closed   bool
	active   sync.WaitGroup // connect handlers holding a session
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
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   wsReadBuffer,
			WriteBufferSize:  wsReadBuffer, // unmasked: large writes bypass it
		},
		sessions: map[string]*yamux.Session{},
	}, nil
}

// ServeHTTP authorizes an agent, upgrades its request to a WebSocket and
// serves the session until it ends. The server is the yamux client: it
// opens the streams.
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
	if !s.enter() {
		http.Error(w, ErrServerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.active.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil) // answers the client on error
	if err != nil {
		s.log.Info("agent upgrade failed", "cluster", clusterID, "remote", r.RemoteAddr, "err", err)
		return
	}
	mux, err := yamux.Client(newWSConn(ws), muxConfig(s.cfg.KeepAlive, s.log))
	if err != nil { // only for an invalid yamux config
		ws.Close()
		s.log.Error("agent session failed", "cluster", clusterID, "err", err)
		return
	}
	s.serve(clusterID, r.RemoteAddr, mux)
}

// serve registers the session and waits for its end.
func (s *Server) serve(clusterID, remote string, mux *yamux.Session) {
	start := time.Now()
	if !s.register(clusterID, mux) {
		return
	}
	s.log.Info("agent connected", "cluster", clusterID, "remote", remote)
	<-mux.CloseChan()
	s.unregister(clusterID, mux)
	s.log.Info("agent disconnected", "cluster", clusterID, "remote", remote,
		"duration", time.Since(start).Round(time.Millisecond))
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

// register makes mux the cluster's session and closes the one it replaces.
func (s *Server) register(clusterID string, mux *yamux.Session) bool {
	s.changeMu.Lock()
	s.mu.Lock()
	closed, old := s.closed, s.sessions[clusterID]
	if !closed {
		s.sessions[clusterID] = mux
	}
	s.mu.Unlock()
	if !closed {
		s.cfg.OnChange(clusterID, true)
	}
	s.changeMu.Unlock()
	if closed {
		mux.Close()
		return false
	}
	if old != nil {
		s.log.Info("agent session replaced by a newer one", "cluster", clusterID)
		old.Close()
	}
	return true
}

// unregister forgets mux if it is still the cluster's session.
func (s *Server) unregister(clusterID string, mux *yamux.Session) {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	s.mu.Lock()
	current := s.sessions[clusterID] == mux
	if current {
		delete(s.sessions, clusterID)
	}
	s.mu.Unlock()
	if current {
		s.cfg.OnChange(clusterID, false)
	}
}

// session returns the cluster's session, or nil.
func (s *Server) session(clusterID string) *yamux.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[clusterID]
}

// Connected reports whether the cluster has a live session.
func (s *Server) Connected(clusterID string) bool {
	mux := s.session(clusterID)
	return mux != nil && !mux.IsClosed()
}

// Disconnect closes the cluster's session, if any, and reports whether
// there was one. The agent will reconnect.
func (s *Server) Disconnect(clusterID string) bool {
	mux := s.session(clusterID)
	if mux == nil {
		return false
	}
	s.unregister(clusterID, mux) // now, so that OnChange reports it first
	mux.Close()
	return true
}

// Close ends every session, refuses new ones and waits for the connect
// handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	muxes := make([]*yamux.Session, 0, len(s.sessions))
	for _, mux := range s.sessions {
		muxes = append(muxes, mux)
	}
	s.mu.Unlock()
	for _, mux := range muxes {
		mux.Close()
	}
	s.active.Wait()
	return nil
}
