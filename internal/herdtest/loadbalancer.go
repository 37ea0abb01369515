package herdtest

import (
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// LoadBalancer is a TCP load balancer on loopback, as one in front of
// several Herd replicas: each connection goes to the next backend in turn
// that accepts it, and lives as long as both ends do.
type LoadBalancer struct {
	// Addr is HOST:PORT of the balancer.
	Addr string
	ln   net.Listener

	mu       sync.Mutex
	backends []string
	next     int
	conns    map[net.Conn]string // client and backend connections -> backend
	wg       sync.WaitGroup
}

// StartLoadBalancer balances over backends until the test ends.
func StartLoadBalancer(t testing.TB, backends ...string) *LoadBalancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &LoadBalancer{Addr: ln.Addr().String(), ln: ln, backends: backends, conns: map[net.Conn]string{}}
	lb.wg.Go(lb.serve)
	t.Cleanup(lb.Close)
	return lb
}

// SetBackends replaces the backends; connections to removed ones stay.
func (lb *LoadBalancer) SetBackends(backends ...string) {
	lb.mu.Lock()
	lb.backends = slices.Clone(backends)
	lb.mu.Unlock()
}

// Close stops the balancer and closes every connection.
func (lb *LoadBalancer) Close() {
	lb.ln.Close()
	lb.mu.Lock()
	for c := range lb.conns {
		c.Close()
	}
	lb.mu.Unlock()
	lb.wg.Wait()
}

func (lb *LoadBalancer) serve() {
	for {
		c, err := lb.ln.Accept()
		if err != nil {
			return
		}
		lb.wg.Go(func() { lb.forward(c) })
	}
}

// forward connects c to the first backend, in turn, that accepts.
func (lb *LoadBalancer) forward(c net.Conn) {
	lb.mu.Lock()
	order := make([]string, 0, len(lb.backends))
	for i := range lb.backends {
		order = append(order, lb.backends[(lb.next+i)%len(lb.backends)])
	}
	lb.next++
	lb.mu.Unlock()
	var b net.Conn
	var backend string
	for _, addr := range order {
		var err error
		if b, err = net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			backend = addr
			break
		}
	}
	if b == nil {
		c.Close()
		return
	}
	lb.mu.Lock()
	lb.conns[c], lb.conns[b] = backend, backend
	lb.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(b, c)
		b.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, b)
	c.(*net.TCPConn).CloseWrite()
	<-done
	c.Close()
	b.Close()
	lb.mu.Lock()
	delete(lb.conns, c)
	delete(lb.conns, b)
	lb.mu.Unlock()
}
