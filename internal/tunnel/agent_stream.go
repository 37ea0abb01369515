package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// headerTimeout bounds the wait for a new stream's header.
const headerTimeout = 10 * time.Second

// pipeBuffer is the size of each direction's copy buffer: large writes
// into the stream make few multiplexer frames.
const pipeBuffer = 128 << 10

// handle serves one stream: it reads the target, checks the policy, dials,
// answers, and pipes until both directions end or the session does.
func (a *Agent) handle(ctx context.Context, st *yamux.Stream) {
	defer st.Close()
	st.SetReadDeadline(time.Now().Add(headerTimeout))
	network, addr, err := readRequest(st)
	if err != nil {
		a.log.Info("tunnel stream dropped: no valid header", "err", err)
		return
	}
	st.SetReadDeadline(time.Time{})
	if !a.cfg.Allow(network, addr) {
		a.log.Warn("tunnel stream refused: target not allowed", "network", network, "addr", addr)
		_ = writeReply(st, statusNotAllowed, "")
		return
	}
	dialer := net.Dialer{Timeout: a.cfg.DialTimeout}
	target, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		a.log.Info("tunnel stream failed: dial", "network", network, "addr", addr, "err", err)
		_ = writeReply(st, statusDialFailed, err.Error())
		return
	}
	defer target.Close()
	if err := writeReply(st, statusOK, ""); err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { abort(st, target) })
	defer stop()
	pipe(&a.bufs, st, target)
}

// pipe copies both ways until both directions end. The end of one source
// half-closes its destination; an error aborts both directions. bufs holds
// *[]byte of pipeBuffer bytes.
func pipe(bufs *sync.Pool, st *yamux.Stream, target net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyHalf(bufs, target, st, st, target)
	}()
	copyHalf(bufs, st, target, st, target)
	<-done
}

func copyHalf(bufs *sync.Pool, dst io.Writer, src io.Reader, st *yamux.Stream, target net.Conn) {
	buf := bufs.Get().(*[]byte)
	defer bufs.Put(buf)
	// The wrappers hide ReadFrom and WriteTo, which would copy through
	// small buffers of their own.
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
	if err != nil {
		abort(st, target)
		return
	}
	_ = closeWrite(dst)
}

// closeWrite half-closes c; a stream's Close is a half close.
func closeWrite(c io.Writer) error {
	switch c := c.(type) {
	case interface{ CloseWrite() error }:
		return c.CloseWrite()
	case io.Closer:
		return c.Close()
	}
	return errors.ErrUnsupported
}

// abort ends both directions at once: the target is closed, and blocked
// stream reads and writes return.
func abort(st *yamux.Stream, target net.Conn) {
	target.Close()
	st.SetDeadline(time.Unix(1, 0))
	st.Close()
}
