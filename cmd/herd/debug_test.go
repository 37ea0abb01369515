package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeDebug: profiles are served on a loopback address only, and
// stop with the context.
func TestServeDebug(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "example:6060", "127.0.0.1"} {
		if err := serveDebug(context.Background(), bad, log); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--debug-listen %s: %v, want it refused", bad, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if err := serveDebug(ctx, addr, log); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("heap profile: %s %.100s", resp.Status, body)
	}
	cancel()
	for range 100 {
		if _, err = http.Get("http://" + addr + "/debug/pprof/"); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil {
		t.Error("the debug listener still answers after its context ended")
	}
}
