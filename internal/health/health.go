// Package health serves the probes of Herd's pods: /healthz answers 200
// while the process runs, /readyz 200 while it is ready and 503 with the
// reason otherwise. It serves nothing else and reads no request body.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Status says whether a component is ready and, either way, why.
type Status func() (ready bool, detail string)

// Handler returns the probe endpoints over status.
func Handler(status Status) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ready, detail := status()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = fmt.Fprintln(w, detail)
	})
	return mux
}

// Serve listens on addr and serves Handler(status) until ctx ends. An
// empty addr serves nothing and returns when ctx ends.
func Serve(ctx context.Context, addr string, status Status, log *slog.Logger) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to serve health probes on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           Handler(status),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info("serving health probes", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
