package tunnel

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// bulkSize is what one bulk benchmark operation moves.
const bulkSize = 256 << 20

// bulkTargets starts a source that sends bulkSize bytes per connection and
// a sink that reads to EOF and answers with the count.
func bulkTargets(b *testing.B) (source, sink string) {
	source = serveTCP(b, func(c net.Conn) {
		buf := make([]byte, 1<<20)
		for range bulkSize / len(buf) {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	sink = serveTCP(b, func(c net.Conn) {
		n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 256<<10))
		binary.Write(c, binary.BigEndian, n)
	})
	return source, sink
}

// BenchmarkTunnelBulk moves bulkSize bytes over one stream through the
// tunnel (TLS, WebSocket, yamux, the agent), each way.
func BenchmarkTunnelBulk(b *testing.B) {
	source, sink := bulkTargets(b)
	h := newHarness(b, nil)
	startAgent(b, h.agentConfig(b, "c1", source, sink))
	h.waitConnected(b, "c1")
	dial := func(addr string) (net.Conn, error) {
		return h.srv.DialContext(context.Background(), "c1", "tcp", addr)
	}
	b.Run("download", func(b *testing.B) { benchDownload(b, func() (net.Conn, error) { return dial(source) }) })
	b.Run("upload", func(b *testing.B) { benchUpload(b, func() (net.Conn, error) { return dial(sink) }) })
}

// BenchmarkDirectBulk is BenchmarkTunnelBulk over direct loopback TCP.
func BenchmarkDirectBulk(b *testing.B) {
	source, sink := bulkTargets(b)
	b.Run("download", func(b *testing.B) { benchDownload(b, func() (net.Conn, error) { return net.Dial("tcp", source) }) })
	b.Run("upload", func(b *testing.B) { benchUpload(b, func() (net.Conn, error) { return net.Dial("tcp", sink) }) })
}

func benchDownload(b *testing.B, dial func() (net.Conn, error)) {
	buf := make([]byte, 256<<10)
	b.SetBytes(bulkSize)
	for b.Loop() {
		c, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
		c.Close()
		if err != nil || n != bulkSize {
			b.Fatalf("read %d bytes, err %v; want %d", n, err, bulkSize)
		}
	}
}

func benchUpload(b *testing.B, dial func() (net.Conn, error)) {
	buf := make([]byte, 1<<20)
	b.SetBytes(bulkSize)
	for b.Loop() {
		c, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		for range bulkSize / len(buf) {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		c.(interface{ CloseWrite() error }).CloseWrite()
		var n int64
		err = binary.Read(c, binary.BigEndian, &n)
		c.Close()
		if err != nil || n != bulkSize {
			b.Fatalf("the sink got %d bytes, err %v; want %d", n, err, bulkSize)
		}
	}
}

// BenchmarkTunnelSmallRequestsWithStalledStream times small HTTP requests
// through the tunnel, alone and beside a stream whose reader has stalled
// with 64 MiB pending. One operation is 100 sequential requests; p50 and
// p99 are over all of them.
func BenchmarkTunnelSmallRequestsWithStalledStream(b *testing.B) {
	var written atomic.Int64
	backend := bigBackend(b, &written)
	h := newHarness(b, nil)
	startAgent(b, h.agentConfig(b, "c1", backend.Listener.Addr().String()))
	h.waitConnected(b, "c1")
	client := h.client(b, "c1")
	client.Timeout = 0
	b.Run("alone", func(b *testing.B) { benchSmall(b, func() error { return get(client, backend.URL+"/small") }) })
	stall(b, client, backend.URL, &written)
	b.Run("beside-stalled", func(b *testing.B) { benchSmall(b, func() error { return get(client, backend.URL+"/small") }) })
}

func benchSmall(b *testing.B, request func() error) {
	var latencies []time.Duration
	for b.Loop() {
		for range 100 {
			start := time.Now()
			if err := request(); err != nil {
				b.Fatal(err)
			}
			latencies = append(latencies, time.Since(start))
		}
	}
	slices.Sort(latencies)
	pct := func(p int) float64 { return float64(latencies[len(latencies)*p/100].Microseconds()) }
	b.ReportMetric(pct(50), "p50-µs")
	b.ReportMetric(pct(99), "p99-µs")
}
