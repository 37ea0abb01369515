package tunnel

// The baseline Herd's tunnel must beat: github.com/rancher/remotedialer,
// set up like the tunnel in bench_test.go (a TLS test server on loopback,
// the same targets, the same copy loops), so that
//
//	go test -run '^$' -bench 'Bulk|Stalled' ./internal/tunnel/
//
// prints the tunnel, remotedialer and direct TCP side by side.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rancher/remotedialer"
	"github.com/sirupsen/logrus"
)

// BenchmarkRemotedialerBulk is BenchmarkTunnelBulk through remotedialer.
// Its streams cannot half-close, so upload goes to a sink that answers
// after bulkSize bytes instead of at EOF.
func BenchmarkRemotedialerBulk(b *testing.B) {
	source, _ := bulkTargets(b)
	sink := countingSink(b)
	dial := newRemotedialer(b, "c1", source, sink)
	b.Run("download", func(b *testing.B) {
		benchDownload(b, func() (net.Conn, error) { return dial(context.Background(), "tcp", source) })
	})
	b.Run("upload", func(b *testing.B) {
		benchUpload(b, func() (net.Conn, error) {
			c, err := dial(context.Background(), "tcp", sink)
			return noHalfClose{c}, err
		})
	})
}

// BenchmarkRemotedialerSmallRequestsWithStalledStream is
// BenchmarkTunnelSmallRequestsWithStalledStream through remotedialer.
func BenchmarkRemotedialerSmallRequestsWithStalledStream(b *testing.B) {
	var written atomic.Int64
	backend := bigBackend(b, &written)
	tr := &http.Transport{
		DialContext:         newRemotedialer(b, "c1", backend.Listener.Addr().String()),
		MaxIdleConnsPerHost: 100,
	}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	b.Run("alone", func(b *testing.B) { benchSmall(b, func() error { return get(client, backend.URL+"/small") }) })
	resp, _ := stall(b, client, backend.URL, &written)
	// remotedialer v0.6.1 never wakes a writer it has paused when the
	// stream closes, which would leave the agent's side of the stalled
	// stream behind: drain it before stall closes it.
	b.Cleanup(func() { io.Copy(io.Discard, resp.Body) })
	b.Run("beside-stalled", func(b *testing.B) { benchSmall(b, func() error { return get(client, backend.URL+"/small") }) })
}

// countingSink is bulkTargets' sink, but it answers with the count once it
// has read bulkSize bytes rather than at EOF.
func countingSink(b *testing.B) string {
	return serveTCP(b, func(c net.Conn) {
		n, _ := io.CopyBuffer(io.Discard, io.LimitReader(c, bulkSize), make([]byte, 256<<10))
		binary.Write(c, binary.BigEndian, n)
	})
}

// noHalfClose lets benchUpload use a remotedialer stream, which cannot
// half-close: with countingSink there is nothing for CloseWrite to do.
type noHalfClose struct{ net.Conn }

func (noHalfClose) CloseWrite() error { return nil }

// newRemotedialer starts a remotedialer server behind a TLS test server on
// loopback and a remotedialer client for cluster that may dial allowed,
// the way newHarness and startAgent start the tunnel. It returns the
// server's dialer for cluster; everything stops when the benchmark ends.
func newRemotedialer(b *testing.B, cluster string, allowed ...string) remotedialer.Dialer {
	b.Helper()
	if raceEnabled {
		b.Skip("remotedialer v0.6.1 has data races of its own (wsconn.go)")
	}
	quietLogrus()
	srv := remotedialer.New(func(r *http.Request) (string, bool, error) {
		if r.Header.Get("Authorization") != testToken {
			return "", false, errors.New("bad registration token")
		}
		return r.Header.Get("X-Test-Cluster"), true, nil
	}, remotedialer.DefaultErrorWriter)
	// httptest.Server.Close neither waits for nor closes hijacked
	// connections, and remotedialer's server does not close its WebSocket
	// when the session ends, so both are done here.
	var handlers sync.WaitGroup
	hijacked := connSet{conns: map[net.Conn]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/connect", func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		srv.ServeHTTP(w, r)
	})
	https := httptest.NewUnstartedServer(mux)
	https.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			hijacked.add(c)
		}
	}
	https.StartTLS()
	url := "wss" + strings.TrimPrefix(https.URL, "https") + "/v1/connect"
	dialer := &websocket.Dialer{
		TLSClientConfig:  https.Client().Transport.(*http.Transport).TLSClientConfig,
		HandshakeTimeout: remotedialer.HandshakeTimeOut,
	}
	header := http.Header{"Authorization": {testToken}, "X-Test-Cluster": {cluster}}
	allow := func(proto, addr string) bool { return proto == "tcp" && slices.Contains(allowed, addr) }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- remotedialer.ConnectToProxy(ctx, url, header, allow, dialer, nil) }()
	b.Cleanup(func() {
		cancel()
		<-done
		handlers.Wait() // the server notices the closed WebSocket
		hijacked.closeAll()
		https.Close()
	})

	deadline := time.Now().Add(waitFor)
	for !srv.HasSession(cluster) {
		select {
		case err := <-done:
			done <- err
			b.Fatalf("remotedialer client stopped before it connected: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("cluster %s: no remotedialer session after %v", cluster, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return srv.Dialer(cluster)
}

// quietLogrus discards remotedialer's logging for the rest of the test
// binary: logrus is global, and remotedialer's stream goroutines may still
// log a moment after a benchmark has ended. Nothing else here uses logrus.
var quietLogrus = sync.OnceFunc(func() { logrus.SetOutput(io.Discard) })
