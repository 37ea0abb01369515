package tunnel

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// handshakeTimeout bounds the TLS and WebSocket handshakes of a connection
// attempt.
const handshakeTimeout = 30 * time.Second

// Agent is the agent end of a tunnel: it keeps a session to the server up
// and connects the server's streams to the targets it allows.
type Agent struct {
	cfg    AgentConfig
	log    *slog.Logger
	dialer websocket.Dialer
	bufs   sync.Pool // *[]byte of pipeBuffer bytes
}

// NewAgent checks cfg and returns an agent that Run starts.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Agent{
		cfg:    cfg,
		log:    cfg.Logger,
		dialer: wsDialer(cfg),
		bufs:   sync.Pool{New: func() any { b := make([]byte, pipeBuffer); return &b }},
	}, nil
}

// wsDialer dials the server directly over batching TLS (tlsbatch.go), or
// through an HTTP proxy with gorilla's own TLS.
func wsDialer(cfg AgentConfig) websocket.Dialer {
	tlsConfig := http11(cfg.TLSConfig)
	return websocket.Dialer{
		Proxy:             cfg.Proxy,
		TLSClientConfig:   tlsConfig,
		NetDialTLSContext: dialBatchedTLS(tlsConfig),
		HandshakeTimeout:  handshakeTimeout,
		ReadBufferSize:    wsReadBuffer,
		WriteBufferSize:   wsWriteBuffer,
	}
}

// http11 returns a copy of c that offers only HTTP/1.1 in ALPN: the
// WebSocket upgrade fails if the server picks h2 (a tls.Config shared with
// an http.Transport may offer it).
func http11(c *tls.Config) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	}
	c = c.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}

// RunAgent is NewAgent and Run.
func RunAgent(ctx context.Context, cfg AgentConfig) error {
	a, err := NewAgent(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// Run connects to the server and serves its streams, reconnecting with
// backoff whenever the session ends, until ctx ends. It returns nil then,
// after every stream and target connection is closed.
func (a *Agent) Run(ctx context.Context) error {
	b := backoff{min: a.cfg.MinBackoff, max: a.cfg.MaxBackoff}
	for {
		up, err := a.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if up >= stableSession {
			b.reset()
		}
		wait := b.next()
		a.log.Warn("tunnel down, reconnecting", "url", a.cfg.URL, "err", err, "in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// runSession makes one connection and serves it until it ends; up is how
// long the session lasted.
func (a *Agent) runSession(ctx context.Context) (up time.Duration, err error) {
	ws, resp, err := a.dialer.DialContext(ctx, a.cfg.URL, a.cfg.Header)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w: %s", err, resp.Status)
		}
		return 0, fmt.Errorf("failed to connect to %s: %w", a.cfg.URL, err)
	}
	mux, err := yamux.Server(newWSConn(ws), muxConfig(a.cfg.KeepAlive, a.log))
	if err != nil { // only for an invalid yamux config
		ws.Close()
		return 0, fmt.Errorf("failed to start session: %w", err)
	}
	start := time.Now()
	a.log.Info("tunnel connected", "url", a.cfg.URL)
	a.cfg.OnConnect()
	err = a.serve(ctx, mux)
	a.cfg.OnDisconnect(err)
	return time.Since(start), err
}

// serve accepts streams until the session or ctx ends; then it closes
// every stream and target connection and waits for their goroutines.
func (a *Agent) serve(ctx context.Context, mux *yamux.Session) error {
	sctx, cancel := context.WithCancel(ctx)
	var streams sync.WaitGroup
	defer streams.Wait()
	defer mux.Close() // waits for a Close in progress
	defer cancel()
	context.AfterFunc(sctx, func() { mux.Close() })
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("session ended: %w", err)
		}
		streams.Go(func() { a.handle(sctx, st) })
	}
}
