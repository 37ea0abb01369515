package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	tests := []struct {
		name, method, path string
		code               int
		contentType, body  string
	}{
		{"the page", "GET", "/", http.StatusOK, "text/html; charset=utf-8", `<script src="/ui/app.js" defer></script>`},
		{"the script", "GET", "/ui/app.js", http.StatusOK, "text/javascript; charset=utf-8", "'use strict'"},
		{"the style", "GET", "/ui/app.css", http.StatusOK, "text/css; charset=utf-8", "--accent"},
		{"the icon", "GET", "/ui/herd.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"an unknown asset", "GET", "/ui/nope.js", http.StatusNotFound, "", ""},
		{"the page under another name", "GET", "/ui/index.html", http.StatusNotFound, "", ""},
		{"a path outside the assets", "GET", "/ui/..%2fgo.mod", http.StatusNotFound, "", ""},
		{"a change", "POST", "/", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.code {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.code)
			}
			if tt.code != http.StatusOK {
				return
			}
			hdr := rec.Header()
			if got := hdr.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			for k, want := range map[string]string{"Content-Security-Policy": ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
				"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got := hdr.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
			again := httptest.NewRequest("GET", tt.path, nil)
			again.Header.Set("If-None-Match", hdr.Get("ETag"))
			rec = httptest.NewRecorder()
			mux.ServeHTTP(rec, again)
			if rec.Code != http.StatusNotModified {
				t.Errorf("revalidation with the ETag: %d, want 304", rec.Code)
			}
		})
	}
}

// TestPolicy checks what the Content-Security-Policy must keep: no inline
// or evaluated script, no other origin, no framing.
func TestPolicy(t *testing.T) {
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(ContentSecurityPolicy+";", want) {
			t.Errorf("the policy lacks %q", want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("the policy allows %q", bad)
		}
	}
}

// TestWeight keeps the console light: everything a first visit loads
// stays under 200 KB, and no asset is fetched from elsewhere.
func TestWeight(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for name, f := range h.files {
		total += len(f.data)
		for _, remote := range []string{"http://", "https://", "//cdn"} {
			if strings.Contains(string(f.data), remote) && !strings.HasSuffix(name, ".svg") {
				t.Errorf("%s refers to %s", name, remote)
			}
		}
	}
	if total > 200<<10 {
		t.Errorf("the console's assets weigh %d bytes, over 200 KB", total)
	}
	t.Logf("the console's assets weigh %d bytes", total)
}
