package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// callbackPath is where the browser brings the ticket of a browser login.
const callbackPath = "/callback"

// callback is the loopback server that the browser comes back to at the
// end of a browser login. It takes one ticket, on callbackPath only, and
// holds the browser's request until herdctl has redeemed the ticket, so the
// page it shows tells the truth.
type callback struct {
	ln       net.Listener
	srv      *http.Server
	arrivals chan arrival  // holds the one ticket taken
	taken    atomic.Bool   // a ticket was taken: refuse more
	done     chan struct{} // closed by Close: stop holding the browser
	once     sync.Once
}

// arrival is the ticket a browser brought; finish answers that browser.
type arrival struct {
	ticket string
	result chan error
}

// finish shows the browser whether the login worked. Call it once.
func (a arrival) finish(err error) { a.result <- err }

// listenCallback listens on a free port of 127.0.0.1 (never on other
// addresses: the ticket must not travel beyond this machine).
func listenCallback() (*callback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen on 127.0.0.1 for the browser to come back: %w", err)
	}
	c := &callback{ln: ln, arrivals: make(chan arrival, 1), done: make(chan struct{})}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// URL is the address to send the browser back to.
func (c *callback) URL() string { return "http://" + c.ln.Addr().String() + callbackPath }

// Wait returns the ticket the browser brought, or the context's error.
func (c *callback) Wait(ctx context.Context) (arrival, error) {
	select {
	case a := <-c.arrivals:
		return a, nil
	case <-ctx.Done():
		return arrival{}, ctx.Err()
	}
}

// Close stops listening, answers a browser still held, and waits briefly
// for the answer to go out.
func (c *callback) Close() {
	c.once.Do(func() {
		close(c.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.srv.Shutdown(ctx)
	})
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path != callbackPath:
		http.NotFound(w, r)
		return
	case r.Host != c.ln.Addr().String():
		// Not the address herdctl gave the server: another page's request.
		page(w, http.StatusBadRequest, "This is not the address herdctl is waiting on.")
		return
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		page(w, http.StatusMethodNotAllowed, "Only GET is accepted here.")
		return
	}
	ticket := r.URL.Query().Get("ticket")
	if ticket == "" {
		page(w, http.StatusBadRequest, "This request carries no login ticket. Run herdctl login again.")
		return
	}
	if !c.taken.CompareAndSwap(false, true) {
		page(w, http.StatusConflict, "herdctl has a login ticket already; this one is ignored.")
		return
	}
	a := arrival{ticket: ticket, result: make(chan error, 1)}
	c.arrivals <- a // room for one, and only one is ever sent
	select {
	case err := <-a.result:
		if err != nil {
			page(w, http.StatusUnauthorized, "The login did not succeed; see the terminal where you ran herdctl login.")
			return
		}
		page(w, http.StatusOK, "You are logged in to Herd; you can close this window.")
	case <-c.done:
		page(w, http.StatusServiceUnavailable, "herdctl stopped waiting; run herdctl login again.")
	case <-r.Context().Done():
	}
}

// page answers the browser with a small HTML page saying msg (constant
// text: nothing of the request is echoed).
func page(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Herd</title></head>\n<body><p>%s</p></body></html>\n", msg)
}
