// Package websession is the web console's session: a browser token (kind
// browser) kept in an HttpOnly, Secure, SameSite=Strict cookie, accepted
// only from the console's own origin, with a CSRF token on every request
// that changes something. Middleware turns a valid cookie into the bearer
// credential the API and the proxy already check, and marks the request
// so that only browser tokens are accepted that way (and browser tokens
// no other way).
package websession

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"herd.dev/herd/internal/authn"
)

const (
	// CookieName is the session cookie. The __Host- prefix makes browsers
	// keep it only when it is Secure, for path /, without a Domain.
	CookieName = "__Host-herd-session"
	// CSRFHeader carries the CSRF token on requests that change something.
	CSRFHeader = "X-Herd-CSRF"
	// LoginCookieName binds an identity provider login that the console
	// started to the browser that started it.
	LoginCookieName = "__Host-herd-login"
)

// CSRF is the CSRF token of a session: an HMAC of a fixed label keyed by
// the session token, so every replica computes it from the cookie alone
// and a page of another origin, which cannot read the cookie, cannot
// compute it.
func CSRF(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("herd web console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SetCookie sets the session cookie to token until expires.
func SetCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// SetLoginCookie sets the login binding until expires. It is SameSite=Lax:
// the provider's redirect back is a top-level navigation from its site,
// which a Strict cookie would miss.
func SetLoginCookie(w http.ResponseWriter, binding string, expires time.Time) {
	// SameSite=None: a SAML IdP posts its answer back cross-site (HTTP-POST
	// binding), and a Lax cookie is not sent with a cross-site POST. The
	// cookie grants nothing: it only proves that the browser finishing a
	// login is the one that started it.
	http.SetCookie(w, &http.Cookie{Name: LoginCookieName, Value: binding, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
}

// ClearLoginCookie removes the login binding.
func ClearLoginCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: LoginCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
}

// BindingHash is what the server keeps of a login binding.
func BindingHash(binding string) string {
	sum := sha256.Sum256([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// LoginBound reports whether r carries the login cookie whose hash is want.
func LoginBound(r *http.Request, want string) bool {
	c, err := r.Cookie(LoginCookieName)
	return err == nil && want != "" && hmac.Equal([]byte(BindingHash(c.Value)), []byte(want))
}

// ClearCookie removes the session cookie.
func ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// CrossSite reports whether r comes from a page of another origin, by
// the headers browsers set and pages cannot: Sec-Fetch-Site and Origin.
// A request with neither comes from no page (a typed URL, curl).
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	return origin != "" && !sameOrigin(origin, r)
}

func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// exempt are the paths that never use the cookie: logging in (a stale
// cookie must not stand in the way of a new session) and the identity
// providers' redirects.
func exempt(path string) bool {
	return path == "/v1/login" || strings.HasPrefix(path, "/v1/auth/")
}

// Middleware authenticates requests that carry the session cookie and no
// Authorization header (nor a bearer WebSocket subprotocol): from another
// origin the cookie is ignored (the request goes on unauthenticated), a
// WebSocket upgrade needs an Origin of this server, and a request that may
// change something (any method but GET, HEAD and OPTIONS) needs the CSRF
// header, else 403. The cookie is never passed on.
func Middleware(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil || c.Value == "" || exempt(r.URL.Path) || r.Header.Get("Authorization") != "" ||
			strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), "bearer.authorization.k8s.io") {
			dropCookie(r)
			h.ServeHTTP(w, r)
			return
		}
		upgrade := r.Header.Get("Upgrade") != ""
		origin := r.Header.Get("Origin")
		if CrossSite(r) || (upgrade && origin == "") {
			log.Warn("web console cookie refused: not from the console's origin", "path", r.URL.Path,
				"origin", origin, "secFetchSite", r.Header.Get("Sec-Fetch-Site"), "source", r.RemoteAddr)
			dropCookie(r)
			h.ServeHTTP(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !hmac.Equal([]byte(r.Header.Get(CSRFHeader)), []byte(CSRF(c.Value))) {
				log.Warn("web console request refused: missing or wrong CSRF token", "method", r.Method, "path", r.URL.Path, "source", r.RemoteAddr)
				forbidden(w, "the request lacks the web console's CSRF token: reload the page")
				return
			}
		}
		r = r.WithContext(authn.WithBrowserSession(r.Context()))
		dropCookie(r)
		r.Header.Set("Authorization", "Bearer "+c.Value)
		h.ServeHTTP(w, r)
	})
}

// dropCookie removes the session cookie from r's headers, keeping others.
func dropCookie(r *http.Request) {
	cookies := r.Cookies()
	if len(cookies) == 0 {
		return
	}
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != CookieName {
			r.AddCookie(c)
		}
	}
}

// forbidden answers 403 as a Kubernetes Status, which the API's clients
// and kubectl both read.
func forbidden(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"message": message, "reason": "Forbidden", "code": http.StatusForbidden})
}
