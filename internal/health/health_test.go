package health_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"herd.dev/herd/internal/health"
)

func TestHandler(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(health.Handler(func() (bool, string) { return ready.Load(), "tunnel down" }))
	defer srv.Close()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	for _, tt := range []struct {
		name, method, path string
		ready              bool
		code               int
		body               string
	}{
		{"alive while not ready", "GET", "/healthz", false, 200, "ok"},
		{"not ready", "GET", "/readyz", false, 503, "tunnel down"},
		{"ready", "GET", "/readyz", true, 200, "tunnel down"},
		{"nothing else", "GET", "/", true, 404, "404 page not found"},
		{"no writes", "POST", "/readyz", true, 405, "Method Not Allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			code, body := get(tt.method, tt.path)
			if code != tt.code || body != tt.body {
				t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, code, body, tt.code, tt.body)
			}
		})
	}
}
