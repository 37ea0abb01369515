package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNoLeaks checks that streams leave no goroutine behind when they end,
// and sessions leave no goroutine or file descriptor when they end.
func TestNoLeaks(t *testing.T) {
	warmUp(t)
	before := snapshot(t)
	t.Run("traffic", func(t *testing.T) {
		echo := startEcho(t)
		release := make(chan struct{})
		silent := serveTCP(t, func(c net.Conn) { // ignores half-closes
			io.Copy(io.Discard, c)
			<-release
		})
		t.Cleanup(func() { close(release) })
		h := newHarness(t, nil)
		a := startAgent(t, h.agentConfig(t, "c1", echo, silent))
		a.waitConnect(t)
		h.waitConnected(t, "c1")
		withSession := snapshot(t)

		manyStreams(t, h, echo)
		waitSettled(t, "streams ended", withSession)

		dropWithIdleStream(t, h, a, silent)
		parked := resources{withSession.goroutines + 1, withSession.fds + 1} // the silent target's side
		waitSettled(t, "a session dropped with an idle stream", parked)
		if _, err := h.srv.DialContext(context.Background(), "c1", "tcp", echo); err != nil {
			t.Fatal(err) // left open and idle as the agent stops
		}
	})
	waitSettled(t, "sessions ended", before)
}

// manyStreams echoes through 50 streams at once and has one refused.
func manyStreams(t *testing.T, h *harness, echo string) {
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := echoThrough(h.srv, "c1", echo, 1000*i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := h.srv.DialContext(context.Background(), "c1", "tcp", "127.0.0.1:1"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("dial of a forbidden address: %v", err)
	}
}

// dropWithIdleStream drops the session while a stream to a target that
// ignores half-closes is open and idle, and waits for the agent to be back.
func dropWithIdleStream(t *testing.T, h *harness, a *testAgent, silent string) {
	idle, err := h.srv.DialContext(context.Background(), "c1", "tcp", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	h.srv.Disconnect("c1")
	a.waitDisconnect(t)
	a.waitConnect(t)
	h.waitConnected(t, "c1")
}

// warmUp makes the runtime's one-time network goroutines and descriptors.
func warmUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func fdList() string {
	fds, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, fd := range fds {
		l, _ := os.Readlink("/proc/self/fd/" + fd.Name())
		b.WriteString(fd.Name() + " -> " + l + "\n")
	}
	return b.String()
}

type resources struct{ goroutines, fds int }

func snapshot(t *testing.T) resources {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Logf("cannot count file descriptors: %v", err)
	}
	return resources{runtime.NumGoroutine(), len(fds)}
}

// waitSettled waits for goroutines and descriptors to drop to want.
func waitSettled(t *testing.T, when string, want resources) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	got := snapshot(t)
	for got.goroutines > want.goroutines || got.fds > want.fds {
		if time.Now().After(deadline) {
			var stacks strings.Builder
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%s: %d goroutines and %d descriptors, want at most %d and %d\n%s\n%s",
				when, got.goroutines, got.fds, want.goroutines, want.fds, stacks.String(), fdList())
		}
		time.Sleep(20 * time.Millisecond)
		got = snapshot(t)
	}
}
