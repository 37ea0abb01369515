package tunnel

import (
	"context"
	"fmt"
	"net"
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
	return &streamConn{Stream: st, remote: targetAddr{network, addr}}, nil
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
