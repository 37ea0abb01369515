// Package tunnel carries connections from the Herd server into downstream
// clusters over one connection that the cluster's agent opens.
//
// The agent dials the server's connect endpoint (wss://.../v1/connect), so
// the link crosses firewalls, HTTP proxies and L7 load balancers. The
// WebSocket carries a yamux session: the server opens one stream per
// connection it wants in the cluster, names the target in a small header,
// and the agent dials the target if its Allow policy permits (default deny)
// and pipes bytes both ways. Every stream has its own flow-control window,
// so a stalled reader holds back only its own stream, and at most
// MaxStreamWindow bytes of it are buffered. Keepalive pings notice a dead
// link within three keepalive intervals; the agent then reconnects with
// jittered exponential backoff.
//
// Server side: NewServer, Server.ServeHTTP (mounted at /v1/connect) and
// Server.Dialer, a DialContext for http.Transport. Agent side: NewAgent and
// Agent.Run, or RunAgent.
package tunnel

import "errors"

var (
	// ErrNotConnected: the cluster has no agent session.
	ErrNotConnected = errors.New("tunnel: cluster not connected")
	// ErrNotAllowed: the agent's policy refused the target address.
	ErrNotAllowed = errors.New("tunnel: address not allowed by the agent")
	// ErrDialFailed: the agent could not connect to the target.
	ErrDialFailed = errors.New("tunnel: agent failed to dial")
	// ErrProtocol: a peer sent a malformed or oversized stream header.
	ErrProtocol = errors.New("tunnel: protocol error")
	// ErrConfig prefixes configuration errors.
	ErrConfig = errors.New("tunnel: invalid configuration")
	// ErrTooManySessions: the cluster holds ServerConfig.MaxSessions sessions.
	ErrTooManySessions = errors.New("tunnel: too many sessions for the cluster")
	// ErrServerClosed: the server was closed.
	ErrServerClosed = errors.New("tunnel: server closed")
)
