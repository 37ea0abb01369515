package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
)

// userBrowser is the user's browser in browser logins, signed in at the
// GitHub stand-in as login: it follows a URL through GitHub and Herd's
// callback back to herdctl's loopback in the background, as a browser does
// after herdctl opened it, and reports the page it ends on.
type userBrowser struct {
	t      *testing.T
	srv    *backend
	client *http.Client
	pages  chan browserPage
	// before, if set, runs before the URL is followed, with herdctl's
	// loopback URL.
	before func(callback string)
	// useTicket makes the browser (or malware in it) redeem the ticket
	// on its way to herdctl, without herdctl's PKCE verifier.
	useTicket bool
}

// browserPage is where a browser visit ended.
type browserPage struct {
	url    string
	status int
	body   string
	err    error
}

func newUserBrowser(c *cli, login string) *userBrowser {
	client := c.srv.Server.Server.Client() // trusts httptest's certificate, which the GitHub stand-in has too
	client.Timeout = 10 * time.Second
	jar, err := cookiejar.New(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	github, _ := url.Parse(c.srv.github.URL)
	jar.SetCookies(github, []*http.Cookie{{Name: "user_session", Value: login}})
	client.Jar = jar
	b := &userBrowser{t: c.t, srv: c.srv, client: client, pages: make(chan browserPage, 4)}
	client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if ticket := req.URL.Query().Get("ticket"); b.useTicket && req.URL.Hostname() == "127.0.0.1" && ticket != "" {
			body, _ := json.Marshal(herdapi.TicketRedeemRequest{Ticket: ticket, Verifier: strings.Repeat("A", 43), Kind: herdapi.KindSession})
			if resp, err := client.Post(c.srv.URL+"/v1/auth/tickets", "application/json", bytes.NewReader(body)); err == nil {
				resp.Body.Close()
			}
		}
		return nil
	}
	return b
}

// lastCLIRedirect is herdctl's loopback URL of the latest browser login.
func (b *userBrowser) lastCLIRedirect() string {
	starts := b.srv.Find(http.MethodPost, "/v1/auth/login/github")
	if len(starts) == 0 {
		return ""
	}
	var req herdapi.RedirectLoginRequest
	_ = json.Unmarshal([]byte(starts[len(starts)-1].Body), &req)
	return req.CLIRedirect
}

// open is the app's openBrowser: it returns at once, like a desktop does.
func (b *userBrowser) open(url string) error {
	go func() {
		if b.before != nil {
			b.before(b.lastCLIRedirect())
		}
		b.pages <- b.visit(http.MethodGet, url, "")
	}()
	return nil
}

// visit requests url, with host as the Host header if set, and follows
// redirects.
func (b *userBrowser) visit(method, url, host string) browserPage {
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
func (b *userBrowser) page() browserPage {
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
