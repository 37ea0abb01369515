package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBrowser is the user's browser in browser logins: it follows a URL
// through the fake provider page back to herdctl's loopback in the
// background, as a browser does after herdctl opened it, and reports the
// page it ends on.
type fakeBrowser struct {
	t      *testing.T
	srv    *fakeServer
	client *http.Client
	pages  chan browserPage
	// before, if set, runs before the URL is followed, with herdctl's
	// loopback URL.
	before func(callback string)
}

// browserPage is where a browser visit ended.
type browserPage struct {
	url    string
	status int
	body   string
	err    error
}

func newFakeBrowser(c *cli) *fakeBrowser {
	client := c.srv.Client() // trusts the fake's certificate
	client.Timeout = 10 * time.Second
	return &fakeBrowser{t: c.t, srv: c.srv, client: client, pages: make(chan browserPage, 4)}
}

// open is the app's openBrowser: it returns at once, like a desktop does.
func (b *fakeBrowser) open(url string) error {
	go func() {
		if b.before != nil {
			b.before(b.srv.lastCLIRedirect())
		}
		b.pages <- b.visit(http.MethodGet, url, "")
	}()
	return nil
}

// visit requests url, with host as the Host header if set, and follows
// redirects.
func (b *fakeBrowser) visit(method, url, host string) browserPage {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return browserPage{url: url, err: err}
	}
	if host != "" {
		req.Host = host
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return browserPage{url: url, err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return browserPage{url: resp.Request.URL.String(), status: resp.StatusCode, body: string(body)}
}

// page waits for the page the browser ended on.
func (b *fakeBrowser) page() browserPage {
	b.t.Helper()
	select {
	case p := <-b.pages:
		return p
	case <-time.After(10 * time.Second):
		b.t.Fatal("the browser did not finish")
		return browserPage{}
	}
}

// urlReader reads herdctl's stderr as a user does: it opens the URL after
// "Open this URL in your browser:" in the browser, once.
type urlReader struct {
	mu     sync.Mutex
	text   strings.Builder
	opened bool
	open   func(url string) error
}

func (r *urlReader) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.text.Write(p)
	if _, rest, ok := strings.Cut(r.text.String(), "Open this URL in your browser:\n"); ok && !r.opened {
		if url, _, ok := strings.Cut(rest, "\n"); ok {
			r.opened = true
			_ = r.open(url)
		}
	}
	return len(p), nil
}
