package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/websession"
)

// TestConsoleOIDC logs in to the console through a real OIDC provider in
// Chromium, and checks that a provider login finishes only in the browser
// that started it.
func TestConsoleOIDC(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) { c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath() })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	p := herdtest.StartOIDCProvider(t)
	enabled := true
	code, body := s.Do(t, "PUT", "/v1/auth/providers/oidc", admin, herdapi.ProviderUpdate{Enabled: &enabled,
		Settings: map[string]string{"issuerURL": p.Issuer, "clientID": p.IDTokenClient.ID, "allowedPrincipals": "oidc_group://" + p.Issuer + "/devs"},
		Secrets:  map[string]string{"clientSecret": p.IDTokenClient.Secret}})
	herdtest.Expect(t, "enable oidc", code, body, http.StatusOK)
	alice := p.User(t, "alice")

	t.Run("in the browser", func(t *testing.T) {
		tab := herdtest.StartBrowser(t).NewTab(t)
		tab.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-provider="oidc"]`)))
		// The console's own login form has a username field too: wait for
		// the provider's form, which carries the auth request's id.
		tab.Do(t, wait, "log in with OIDC", chromedp.Click(chromedp.CSS(`button[data-provider="oidc"]`)),
			chromedp.WaitReady(chromedp.CSS(`form input[name="id"]`)))
		tab.Screenshot(t, "oidc-provider")
		tab.Do(t, wait, "log in at the provider",
			chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), alice.Username),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), alice.Password),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('form').submit()`),
			chromedp.WaitVisible(chromedp.CSS("#cluster-list")))
		tab.WaitText(t, "#who", alice.Username, wait)
		tab.Screenshot(t, "oidc-logged-in")
	})

	t.Run("bound to the browser that started it", func(t *testing.T) {
		start := func() (authURL string, binding *http.Cookie) {
			data, _ := json.Marshal(herdapi.RedirectLoginRequest{Console: true})
			req, _ := http.NewRequest("POST", s.URL+"/v1/auth/login/oidc", bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", s.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r herdapi.RedirectLoginResponse
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("start a console login: %d %v", resp.StatusCode, err)
			}
			for _, c := range resp.Cookies() {
				if c.Name == websession.LoginCookieName {
					binding = c
				}
			}
			if binding == nil || !binding.HttpOnly || !binding.Secure || binding.SameSite != http.SameSiteNoneMode {
				t.Fatalf("login binding cookie %+v", binding)
			}
			return r.AuthURL, binding
		}
		callback := s.URL + "/v1/auth/callback/oidc"
		finish := func(q string, cookie *http.Cookie) *http.Response {
			req, _ := http.NewRequest("GET", callback+"?"+q, nil)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			noFollow := *s.Client
			noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}

		authURL, _ := start()
		q := p.Login(t, authURL, callback, alice.Username, alice.Password)
		if resp := finish(q.Encode(), nil); resp.StatusCode != http.StatusBadRequest || hasSession(resp) {
			t.Errorf("a console login finished without its browser's binding: %d", resp.StatusCode)
		}
		authURL, binding := start()
		q = p.Login(t, authURL, callback, alice.Username, alice.Password)
		resp := finish(q.Encode(), binding)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/#/clusters" || !hasSession(resp) {
			t.Errorf("a console login with its binding: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := finish(q.Encode(), binding); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("the same callback again: %d, want 400", resp.StatusCode)
		}

		data, _ := json.Marshal(herdapi.RedirectLoginRequest{Console: true})
		req, _ := http.NewRequest("POST", s.URL+"/v1/auth/login/oidc", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		r2, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusForbidden || len(r2.Cookies()) != 0 {
			t.Errorf("a console login started from another site: %d, cookies %v", r2.StatusCode, r2.Cookies())
		}
	})
}

func hasSession(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == websession.CookieName && c.Value != "" && !strings.HasPrefix(c.Value, " ") {
			return true
		}
	}
	return false
}
