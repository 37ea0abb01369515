package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocket buffer sizes. The agent masks what it sends (RFC 6455 clients
// must), which gorilla does in its write buffer and flushes one frame per
// buffer: a large buffer means few frames, TLS writes and syscalls.
const (
	wsReadBuffer  = 64 << 10
	wsWriteBuffer = 256 << 10
	// wsServerReadBuffer is the server's, per agent session.
	wsServerReadBuffer = 256
)

// closeGrace bounds the wait for the close frame on a dying link.
const closeGrace = time.Second

// wsConn adapts a WebSocket that carries binary messages to net.Conn, for
// yamux: each Write is one message, and Read joins messages into a byte
// stream.
type wsConn struct {
	ws *websocket.Conn

	rmu      sync.Mutex
	r        io.Reader    // the message being read; nil between messages
	lastRead atomic.Int64 // when the peer was last heard from (Unix ns)

	wmu     sync.Mutex // gorilla allows one writer at a time
	pending []byte     // a yamux data frame header waiting for its body

	closeOnce sync.Once
	closeErr  error
	// onClose, if set before the connection is used, runs once when it
	// closes.
	onClose func()
}

var _ net.Conn = (*wsConn)(nil)

func newWSConn(ws *websocket.Conn) *wsConn {
	ws.SetReadLimit(0) // none: messages are streamed, not buffered whole
	c := &wsConn{ws: ws}
	c.lastRead.Store(time.Now().UnixNano())
	return c
}

// Read reads from the current message, moving to the next at its end.
// The peer's normal close reads as io.EOF.
func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				return 0, io.EOF
			}
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, fmt.Errorf("%w: WebSocket message of type %d", ErrProtocol, typ)
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if n > 0 {
			c.lastRead.Store(time.Now().UnixNano())
		}
		if err == io.EOF {
			c.r = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// Write sends p as one binary message.
func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.pending == nil && isDataHeader(p) {
		// yamux writes a data frame's header and body in two calls; send
		// them as one message (one TLS record, one syscall) instead of two.
		c.pending = append(make([]byte, 0, yamuxHeaderSize), p...)
		return len(p), nil
	}
	w, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return 0, err
	}
	if c.pending != nil {
		_, err = w.Write(c.pending)
		c.pending = nil
	}
	if err == nil {
		_, err = w.Write(p)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// yamuxHeaderSize is the size of a yamux frame header: version, type,
// flags (2), stream id (4), length (4).
const yamuxHeaderSize = 12

// isDataHeader reports whether p is exactly the header of a yamux data
// frame with a body, which yamux's send loop writes right after it.
func isDataHeader(p []byte) bool {
	return len(p) == yamuxHeaderSize && p[0] == 0 && p[1] == 0 && binary.BigEndian.Uint32(p[8:12]) > 0
}

// Close sends a close frame, waiting at most closeGrace, and closes the
// connection.
func (c *wsConn) Close() error {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace))
		c.closeErr = c.ws.Close()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return c.closeErr
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}

func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
