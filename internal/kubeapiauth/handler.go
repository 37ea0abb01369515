package kubeapiauth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxBodyBytes bounds a TokenReview request; a real one is well under 1 KiB.
const MaxBodyBytes = 64 << 10

// Handler serves the webhook: POST /authenticate (and POST /, for webhook
// kubeconfigs that name no path) and GET /healthz, which is 200 once the
// token copies are synced.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /authenticate", s.serveReview)
	mux.HandleFunc("POST /{$}", s.serveReview)
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	return mux
}

func (s *Server) serveReview(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxBodyBytes {
		writeStatus(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			writeStatus(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeStatus(w, http.StatusBadRequest, "unreadable request body")
		return
	}
	var in authenticationv1.TokenReview
	if err := json.Unmarshal(body, &in); err != nil {
		writeStatus(w, http.StatusBadRequest, "request body is not a TokenReview")
		return
	}
	out, err := s.Review(r.Context(), &in)
	switch {
	case errors.Is(err, ErrBadReview):
		writeStatus(w, http.StatusBadRequest, "request body is not an authentication.k8s.io/v1 TokenReview")
		return
	case err != nil:
		s.log.Warn("cannot answer token review", "err", err)
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusServiceUnavailable, "token review unavailable")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	if !s.synced() {
		http.Error(w, "token copies not synced", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// writeStatus answers with a metav1.Status carrying a generic message; the
// detail goes to the log.
func writeStatus(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Message: msg, Code: int32(code),
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
