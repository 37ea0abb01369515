package websession_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/websession"
)

// TestMiddleware: the cookie becomes the bearer credential (and the
// request is marked a browser session) only from the server's own
// origin; a change needs the CSRF token; a WebSocket needs an Origin; an
// Authorization header or the login path leave the cookie unused; the
// cookie is never passed on.
func TestMiddleware(t *testing.T) {
	type seen struct {
		auth, cookie string
		browser      bool
	}
	var got *seen
	h := websession.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = &seen{auth: r.Header.Get("Authorization"), cookie: r.Header.Get("Cookie"), browser: authn.FromBrowserSession(r.Context())}
	}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	const token = "t-abc.secret"
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		wantCode           int
		want               seen
	}{
		{"same origin GET", "GET", "/v1/clusters", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200,
			seen{auth: "Bearer " + token, cookie: "other=1", browser: true}},
		{"typed URL", "GET", "/", map[string]string{"Sec-Fetch-Site": "none"}, 200, seen{auth: "Bearer " + token, cookie: "other=1", browser: true}},
		{"cross-site GET", "GET", "/k8s/clusters/c/api/v1/pods", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, seen{cookie: "other=1"}},
		{"same-site GET from another origin", "GET", "/v1/me", map[string]string{"Sec-Fetch-Site": "same-site"}, 200, seen{cookie: "other=1"}},
		{"foreign Origin", "GET", "/v1/me", map[string]string{"Origin": "https://evil.example"}, 200, seen{cookie: "other=1"}},
		{"POST without CSRF", "POST", "/v1/tokens", map[string]string{"Origin": "https://herd.test"}, 403, seen{}},
		{"POST with a wrong CSRF", "POST", "/v1/tokens", map[string]string{"Origin": "https://herd.test", websession.CSRFHeader: websession.CSRF("t-other.x")}, 403, seen{}},
		{"POST with CSRF", "DELETE", "/v1/tokens/x", map[string]string{"Origin": "https://herd.test", websession.CSRFHeader: websession.CSRF(token)}, 200,
			seen{auth: "Bearer " + token, cookie: "other=1", browser: true}},
		{"WebSocket without Origin", "GET", "/k8s/clusters/c/api/v1/namespaces/d/pods/p/exec", map[string]string{"Upgrade": "websocket"}, 200, seen{cookie: "other=1"}},
		{"WebSocket from the origin", "GET", "/k8s/clusters/c/api/v1/namespaces/d/pods/p/exec", map[string]string{"Upgrade": "websocket", "Origin": "https://herd.test"}, 200,
			seen{auth: "Bearer " + token, cookie: "other=1", browser: true}},
		{"an Authorization header wins", "POST", "/v1/tokens", map[string]string{"Authorization": "Bearer t-api.x"}, 200, seen{auth: "Bearer t-api.x", cookie: "other=1"}},
		{"login ignores the cookie", "POST", "/v1/login", map[string]string{"Origin": "https://herd.test"}, 200, seen{cookie: "other=1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest(c.method, "https://herd.test"+c.path, nil)
			r.TLS = &tls.ConnectionState{}
			r.AddCookie(&http.Cookie{Name: websession.CookieName, Value: token})
			r.AddCookie(&http.Cookie{Name: "other", Value: "1"})
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.wantCode {
				t.Fatalf("code %d, want %d: %s", w.Code, c.wantCode, w.Body)
			}
			if c.wantCode != 200 {
				if got != nil {
					t.Errorf("a refused request reached the handler: %+v", got)
				}
				return
			}
			if got == nil || *got != c.want {
				t.Errorf("handler saw %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestCookie: HttpOnly, Secure, SameSite=Strict, path /, and a CSRF
// token that differs per session.
func TestCookie(t *testing.T) {
	w := httptest.NewRecorder()
	websession.SetCookie(w, "t-a.b", time.Now().Add(time.Hour))
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || !c[0].Secure || c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/" || c[0].Domain != "" {
		t.Errorf("cookie %+v", c)
	}
	if websession.CSRF("t-a.b") == websession.CSRF("t-a.c") || len(websession.CSRF("t-a.b")) < 40 {
		t.Error("CSRF tokens do not depend on the session")
	}
}
