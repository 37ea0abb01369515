// Package console is Herd's web console: a small client of a few embedded
// files (no framework, no dependency, nothing fetched at run time) that
// uses the same REST API and authenticating proxy as herdctl and kubectl,
// with the web console's session cookie (package websession) instead of a
// token. A client, rather than server-rendered pages, because every page
// is then one more user of the API that is already tested and authorized
// per route, and live state is a poll of JSON rather than a page reload.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy lets the page run only its own script and style,
// talk only to its own origin (HTTP and WebSocket), load no frame, and be
// framed by nobody.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// file is one embedded asset with its validator.
type file struct {
	data        []byte
	contentType string
	etag        string
}

// Handler serves the console: the page at / and its assets under /ui/.
type Handler struct {
	files   map[string]file
	started time.Time
}

// New loads the embedded assets.
func New() (*Handler, error) {
	h := &Handler{files: map[string]file{}, started: time.Now()}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files[path.Base(p)] = file{data: data, contentType: contentType(p), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to load the console's assets: %w", err)
	}
	if _, ok := h.files["index.html"]; !ok {
		return nil, fmt.Errorf("the console's assets lack index.html")
	}
	return h, nil
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// Register adds the console's routes to mux: the page at / (the console
// routes by the URL's fragment, so one page serves every view) and its
// assets under /ui/.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "index.html") })
	mux.HandleFunc("GET /ui/{file}", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, r.PathValue("file")) })
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := h.files[name]
	if !ok || name == "index.html" && r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	// Revalidate every time: a new server version serves new assets at
	// the same names, and a 304 costs a round trip on loopback.
	hdr.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", h.started, bytes.NewReader(f.data))
}
