package api

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"herd.dev/herd/internal/authn"
)

// auditKey carries a request's *auditRecord in its context.
type auditKey struct{}

// auditRecord is who made a request, filled in once it is known.
type auditRecord struct {
	actor string
}

// setActor records the authenticated caller of r for its audit line.
func setActor(r *http.Request, id *authn.Identity) {
	setActorName(r, id.UserName)
}

// setActorName records a caller that is not a Herd user (an agent, a login
// attempt's username).
func setActorName(r *http.Request, actor string) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.actor = actor
	}
}

// actorOf is the recorded caller of r, or "".
func actorOf(r *http.Request) string {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		return rec.actor
	}
	return ""
}

// audited writes one audit line for every write to the Herd API (/v1/...
// with a method other than GET or HEAD): actor, method, path, status and
// source. Bodies are never logged; the import path, which carries a
// token, is cut.
func (a *API) audited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &auditRecord{}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, rec)))
		a.audit.Info("api", "actor", rec.actor, "method", r.Method, "path", logPath(r), "status", sw.code,
			"source", sourceAddr(r), "duration", time.Since(start).Round(time.Microsecond).String())
	})
}

// statusWriter keeps the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack lets upgraded connections through.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.code = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
