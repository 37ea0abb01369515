package tunnel

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Dialer returns a DialContext for http.Transport that connects through
// the cluster's agent.
func (s *Server) Dialer(clusterID string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return s.DialContext(ctx, clusterID, network, addr)
	}
}

// DialContext opens a stream to the cluster's agent and asks it to connect
// to addr. It fails with ErrNotConnected when the cluster has no session,
// ErrNotAllowed when the agent's policy refuses addr, and ErrDialFailed
// when the agent cannot connect.
func (s *Server) DialContext(ctx context.Context, clusterID, network, addr string) (net.Conn, error) {
	var st *yamux.Stream
	err := fmt.Errorf("%w: %s", ErrNotConnected, clusterID)
	for _, mux := range s.live(clusterID) { // the newest first
		var openErr error
		if st, openErr = mux.OpenStream(); openErr == nil {
			break
		}
		err = fmt.Errorf("%w: %s: %w", ErrNotConnected, clusterID, openErr)
	}
	if st == nil {
		return nil, err
	}
	if err = handshake(ctx, st, network, addr); err != nil {
		st.Close()
		return nil, fmt.Errorf("failed to dial %s %s in cluster %s: %w", network, addr, clusterID, err)
	}
	s.streams.opened.Add(1)
	s.streams.open.Add(1)
	return &streamConn{Stream: st, remote: targetAddr{network, addr}, meter: &s.streams}, nil
}

// StreamStats counts the streams a Server opened to its agents' targets
// and the bytes through them.
type StreamStats struct {
	// Opened counts streams since the server started; Open is how many
	// are not closed yet.
	Opened uint64
	Open   int64
	// Received counts bytes from the clusters' targets, Sent bytes to
	// them.
	Received, Sent uint64
}

// streamMeter is where a Server's streams count.
type streamMeter struct {
	opened, received, sent atomic.Uint64
	open                   atomic.Int64
}

// Streams is what the server's streams have carried so far.
func (s *Server) Streams() StreamStats {
	return StreamStats{Opened: s.streams.opened.Load(), Open: s.streams.open.Load(),
		Received: s.streams.received.Load(), Sent: s.streams.sent.Load()}
}

// handshake names the target and waits for the agent's answer, or for ctx.
func handshake(ctx context.Context, st *yamux.Stream, network, addr string) error {
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	err := writeRequest(st, network, addr)
	if err == nil {
		err = readReply(st)
	}
	if !stop() {
		return context.Cause(ctx)
	}
	return err
}

// streamConn is a stream to a target in the cluster.
//
// Its Close, like yamux's, closes the sending half at once and frees the
// stream when the agent has closed its side too, which it does when the
// target does, or at the latest after streamCloseTimeout.
type streamConn struct {
	*yamux.Stream
	remote targetAddr
	meter  *streamMeter // nil: not counted
	closed atomic.Bool
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.Stream.Read(p)
	if c.meter != nil {
		c.meter.received.Add(uint64(n))
	}
	return n, err
}

func (c *streamConn) Write(p []byte) (int, error) {
	n, err := c.Stream.Write(p)
	if c.meter != nil {
		c.meter.sent.Add(uint64(n))
	}
	return n, err
}

// Close closes the sending half; see streamConn.
func (c *streamConn) Close() error {
	if c.meter != nil && c.closed.CompareAndSwap(false, true) {
		c.meter.open.Add(-1)
	}
	return c.Stream.Close()
}

var _ net.Conn = (*streamConn)(nil)

// RemoteAddr is the target the agent connected to.
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

// CloseWrite tells the target that no more data is coming; reading goes on.
func (c *streamConn) CloseWrite() error { return c.Stream.Close() }

// targetAddr names a target in a downstream cluster.
type targetAddr struct{ network, addr string }

var _ net.Addr = targetAddr{}

func (a targetAddr) Network() string { return a.network }
func (a targetAddr) String() string  { return a.addr }
