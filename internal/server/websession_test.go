package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/websession"
)

// TestBrowserSession: a web console login sets an HttpOnly, Secure,
// SameSite=Strict cookie and answers the CSRF token, never the token;
// the cookie works from the server's origin (the API and the proxy), a
// change needs the CSRF token, the cookie's token is refused as a bearer
// token and API tokens are refused as the cookie; a login from another
// origin and a browser token asked of the token API are refused; logout
// ends the session and clears the cookie.
func TestBrowserSession(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	origin := s.URL
	send := func(method, path string, body any, header map[string]string, cookie string) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			r = bytes.NewReader(data)
		}
		req, err := http.NewRequest(method, s.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: websession.CookieName, Value: cookie})
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}
	same := map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}
	login := herdapi.LoginRequest{Username: "admin", Password: herdtest.BootstrapPassword, Kind: "browser"}

	resp, body := send("POST", "/v1/login", login, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "")
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("a browser login from another origin: %d %s, cookies %v", resp.StatusCode, body, resp.Cookies())
	}
	resp, body = send("POST", "/v1/login", login, same, "")
	herdtest.Expect(t, "browser login", resp.StatusCode, body, http.StatusCreated)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == websession.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v", cookie)
	}
	session := decodeJSON[herdapi.ConsoleSession](t, body)
	if session.CSRFToken != websession.CSRF(cookie.Value) || session.User.Username != "admin" || strings.Contains(string(body), cookie.Value) {
		t.Errorf("login answer %s", body)
	}

	resp, body = send("GET", "/v1/session", nil, same, cookie.Value)
	herdtest.Expect(t, "the session", resp.StatusCode, body, http.StatusOK)
	if got := decodeJSON[herdapi.ConsoleSession](t, body); got.CSRFToken != session.CSRFToken {
		t.Errorf("session: %s", body)
	}
	resp, body = send("GET", "/k8s/clusters/local/api/v1/namespaces/default", nil, same, cookie.Value)
	herdtest.Expect(t, "the proxy with the cookie", resp.StatusCode, body, http.StatusOK)
	resp, body = send("GET", "/v1/me", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, cookie.Value)
	herdtest.Expect(t, "the cookie from another site", resp.StatusCode, body, http.StatusUnauthorized)
	if code, body := s.Do(t, "GET", "/v1/me", cookie.Value, nil); code != http.StatusUnauthorized {
		t.Errorf("the browser token as a bearer token: %d %s", code, body)
	}
	resp, body = send("GET", "/v1/me", nil, same, admin)
	herdtest.Expect(t, "an API token as the cookie", resp.StatusCode, body, http.StatusUnauthorized)

	tokenReq := herdapi.TokenCreateRequest{Description: "from the console"}
	resp, body = send("POST", "/v1/tokens", tokenReq, same, cookie.Value)
	herdtest.Expect(t, "a change without the CSRF token", resp.StatusCode, body, http.StatusForbidden)
	withCSRF := map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin", websession.CSRFHeader: session.CSRFToken}
	resp, body = send("POST", "/v1/tokens", tokenReq, withCSRF, cookie.Value)
	herdtest.Expect(t, "a change with the CSRF token", resp.StatusCode, body, http.StatusCreated)
	code, body := s.Do(t, "POST", "/v1/tokens", admin, herdapi.TokenCreateRequest{Kind: "browser"})
	herdtest.Expect(t, "a browser token from the token API", code, body, http.StatusUnprocessableEntity)

	checkTerminalOrigin(t, s, cookie.Value)

	resp, body = send("POST", "/v1/logout", nil, withCSRF, cookie.Value)
	herdtest.Expect(t, "logout", resp.StatusCode, body, http.StatusNoContent)
	if c := resp.Cookies(); len(c) != 1 || c[0].Name != websession.CookieName || c[0].MaxAge >= 0 {
		t.Errorf("logout cookies %+v, want the session cookie cleared", c)
	}
	resp, body = send("GET", "/v1/session", nil, same, cookie.Value)
	herdtest.Expect(t, "the session after logout", resp.StatusCode, body, http.StatusUnauthorized)
}

// checkTerminalOrigin: the kubectl terminal's WebSocket takes the session
// cookie only with the server's own Origin; from another origin, or with
// no Origin, the cookie is ignored and the upgrade is refused. With the
// right Origin, kubectl runs through the proxy.
func checkTerminalOrigin(t *testing.T, s *herdtest.Server, session string) {
	t.Helper()
	dialer := websocket.Dialer{TLSClientConfig: s.Client.Transport.(*http.Transport).TLSClientConfig, HandshakeTimeout: 10 * time.Second}
	url := "wss" + strings.TrimPrefix(s.URL, "https") + "/v1/clusters/local/terminal"
	cookie := (&http.Cookie{Name: websession.CookieName, Value: session}).String()
	for name, origin := range map[string]string{"another origin": "https://evil.example", "no origin": ""} {
		h := http.Header{"Cookie": {cookie}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, resp, err := dialer.Dial(url, h)
		if err == nil {
			conn.Close()
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a terminal upgrade from %s: %v %v, want 401", name, resp, err)
		}
	}
	conn, resp, err := dialer.Dial(url, http.Header{"Cookie": {cookie}, "Origin": {s.URL}})
	if err != nil {
		t.Fatalf("a terminal from the console's origin: %v %v", resp, err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("get namespaces")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("terminal: %v after %q", err, out.String())
		}
		if kind == websocket.TextMessage {
			if string(data) != "exit 0" || !strings.Contains(out.String(), "kube-system") {
				t.Errorf("get namespaces in the terminal: %s, %q", data, out.String())
			}
			return
		}
		out.Write(data)
	}
}
