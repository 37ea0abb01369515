package tunnel

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// Tuning of the multiplexer, the same on both ends.
const (
	// maxStreamWindow is the most a stream may have in flight, and so the
	// most that one stalled stream holds in memory at the receiver. It
	// bounds one stream's throughput to maxStreamWindow per round trip.
	maxStreamWindow = 16 << 20
	// acceptBacklog bounds streams opened but not yet accepted.
	acceptBacklog = 256
	// serverAcceptBacklog is acceptBacklog of the server's agent sessions
	// (serverMuxConfig).
	serverAcceptBacklog = 64
	// streamOpenTimeout closes a session whose peer does not acknowledge a
	// new stream in time.
	streamOpenTimeout = 30 * time.Second
	// streamCloseTimeout bounds how long a stream closed on one side waits
	// for the peer's close before it is reset (yamux's Close half-closes).
	streamCloseTimeout = time.Minute
)

// muxConfig returns the yamux configuration for a keepalive interval: a
// ping goes out every interval and must be answered (or any frame queued
// must be written) within two more.
func muxConfig(keepAlive time.Duration, log *slog.Logger) *yamux.Config {
	return &yamux.Config{
		AcceptBacklog:          acceptBacklog,
		EnableKeepAlive:        true,
		KeepAliveInterval:      keepAlive,
		ConnectionWriteTimeout: 2 * keepAlive,
		MaxStreamWindowSize:    maxStreamWindow,
		StreamOpenTimeout:      streamOpenTimeout,
		StreamCloseTimeout:     streamCloseTimeout,
		Logger:                 muxLogger{log},
	}
}

// serverMuxConfig is muxConfig for the server end of agent sessions: it
// sends no pings of its own. It answers the agent's, and Server's
// watchdog closes a session that stays silent.
//
// Its accept backlog is serverAcceptBacklog: the server accepts no streams
// from agents, so the backlog only bounds what a misbehaving agent can
// queue there and, as yamux uses it for both, how many streams the server
// has opened that the agent has not acknowledged yet. A backlog costs 8
// bytes a slot in every session.
func serverMuxConfig(keepAlive time.Duration, log *slog.Logger) *yamux.Config {
	c := muxConfig(keepAlive, log)
	c.EnableKeepAlive = false
	c.AcceptBacklog = serverAcceptBacklog
	return c
}

// muxLogger sends yamux's log lines to slog at debug level: the lines that
// matter (why a session ended) are logged by this package itself.
type muxLogger struct{ log *slog.Logger }

var _ yamux.Logger = muxLogger{}

func (l muxLogger) Print(v ...any) { l.emit(fmt.Sprint(v...)) }

func (l muxLogger) Printf(format string, v ...any) { l.emit(fmt.Sprintf(format, v...)) }

func (l muxLogger) Println(v ...any) { l.emit(fmt.Sprintln(v...)) }

func (l muxLogger) emit(msg string) {
	l.log.Debug(strings.TrimSpace(msg), "component", "yamux")
}
