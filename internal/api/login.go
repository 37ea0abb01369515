package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/websession"
)

// handleLogin exchanges a username and password for a token. A wrong
// password, an unknown user and a disabled user get the same 401; too many
// failures per username or source address get 429 with Retry-After. Every
// attempt counts as a failure until it succeeds, so a burst of concurrent
// attempts cannot run past the limits, and at most MaxConcurrentLogins
// password checks run at once.
func (a loginAPI) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req herdapi.LoginRequest
	if !a.decode(w, r, &req) {
		return
	}
	setActorName(r, "login "+loginName(req.Provider, req.Username))
	if req.Kind == v1.TokenKindBrowser && websession.CrossSite(r) {
		// A page of another origin must not log a browser in (to the
		// attacker's account, say).
		a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden, "web console logins come only from the console's own pages",
			fmt.Errorf("a browser login from another origin (%q)", r.Header.Get("Origin")))
		return
	}
	userKey, addrKey := loginUserKey(req.Provider, req.Username), "addr:"+sourceKey(r)
	if wait := a.attemptLogin(userKey, addrKey); wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		a.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
			fmt.Sprintf("too many failed logins: try again in %d seconds", int(math.Ceil(wait.Seconds()))),
			fmt.Errorf("login of %s from %s is rate limited", loginName(req.Provider, req.Username), sourceAddr(r)))
		return
	}
	release, ok := a.loginSlot(r.Context(), req.Provider)
	if !ok {
		a.byUser.Forgive(userKey)
		a.byAddr.Forgive(addrKey)
		w.Header().Set("Retry-After", "1")
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the server is busy checking other logins; try again in a second",
			fmt.Errorf("login of %s from %s: no password check slot free", loginName(req.Provider, req.Username), sourceAddr(r)))
		return
	}
	user, err := a.dir.PasswordLogin(r.Context(), req.Provider, req.Username, req.Password)
	release()
	if err != nil && !errors.Is(err, authn.ErrBadCredentials) {
		// Not the caller's failure: it does not count.
		a.byUser.Forgive(userKey)
		a.byAddr.Forgive(addrKey)
	}
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.byUser.Succeed(userKey)
	a.byAddr.Forgive(addrKey)
	setActorName(r, user.Name)
	treq := authn.TokenRequest{Kind: req.Kind, TTL: time.Duration(req.TTLSeconds) * time.Second, Description: req.Description}
	if req.Kind == v1.TokenKindBrowser {
		a.startBrowserSession(w, r, user, treq)
		return
	}
	a.issueToken(w, r, user, treq, true)
}

// startBrowserSession issues a browser token for user and sets it as the
// web console's cookie; the answer holds the session's CSRF token, not
// the token.
func (a loginAPI) startBrowserSession(w http.ResponseWriter, r *http.Request, user *v1.User, req authn.TokenRequest) {
	token, tok, err := a.setSessionCookie(w, r, user, req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, herdapi.ConsoleSession{User: a.apiUser(r.Context(), user), CSRFToken: websession.CSRF(token), ExpiresAt: tok.Spec.ExpiresAt.Time})
}

// setSessionCookie mints a browser token for user (evicting old sessions
// past the quota), audits it and sets it as the session cookie. Both
// console logins, by password and through a provider, end here.
func (a loginAPI) setSessionCookie(w http.ResponseWriter, r *http.Request, user *v1.User, req authn.TokenRequest) (string, *v1.Token, error) {
	req.Kind = v1.TokenKindBrowser
	if req.Description == "" {
		req.Description = "web console: " + truncate(r.UserAgent(), 200)
	}
	token, tok, err := a.dir.MintToken(r.Context(), user, req, true)
	if err != nil {
		return "", nil, err
	}
	a.audit.Info("token issued", "actor", user.Name, "user", user.Name, "token", tok.Name, "kind", tok.Spec.Kind,
		"expiresAt", tok.Spec.ExpiresAt.Time, "source", sourceAddr(r))
	websession.SetCookie(w, token, tok.Spec.ExpiresAt.Time)
	return token, tok, nil
}

// handleSession answers the web console's session: its user and CSRF
// token (the console asks on each page load; the cookie is HttpOnly).
func (a loginAPI) handleSession(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !authn.FromBrowserSession(r.Context()) {
		a.fail(w, r, http.StatusBadRequest, metav1.StatusReasonBadRequest, "only the web console has a session; API clients use tokens", nil)
		return
	}
	var user v1.User
	var tok v1.Token
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &user); err != nil {
		a.internal(w, r, err)
		return
	}
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.TokenName}, &tok); err != nil {
		a.internal(w, r, err)
		return
	}
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	writeJSON(w, http.StatusOK, herdapi.ConsoleSession{User: a.apiUser(r.Context(), &user), CSRFToken: websession.CSRF(strings.TrimSpace(token)), ExpiresAt: tok.Spec.ExpiresAt.Time})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// attemptLogin counts a login attempt against the username's and the
// source's limits, and returns how long to wait if either is reached.
func (a loginAPI) attemptLogin(userKey, addrKey string) time.Duration {
	if wait := a.byUser.Attempt(userKey); wait > 0 {
		return wait
	}
	if wait := a.byAddr.Attempt(addrKey); wait > 0 {
		a.byUser.Forgive(userKey)
		return wait
	}
	return 0
}

// loginSlot takes a slot for a password check (see gate): of the
// MaxConcurrentLogins for local users (each argon2id check holds 19 MiB
// and a core), of eight times as many for identity providers (which wait
// on the network), so a slow directory does not hold up local logins.
func (a loginAPI) loginSlot(ctx context.Context, provider string) (release func(), ok bool) {
	if provider == "" || provider == authn.ProviderLocal {
		return a.logins.enter(ctx)
	}
	return a.extLogins.enter(ctx)
}

// loginUserKey is what the per-username limit counts a login by: a hash
// of the provider and the lower-cased username, so that the limiter's
// memory does not grow with the length of made-up names.
func loginUserKey(provider, username string) string {
	sum := sha256.Sum256([]byte(provider + "\x00" + strings.ToLower(username)))
	return "user:" + hex.EncodeToString(sum[:16])
}

// loginName is a login's provider and username for the log, cut short.
func loginName(provider, username string) string {
	if provider == "" {
		provider = authn.ProviderLocal
	}
	if len(username) > 128 {
		username = username[:128] + "..."
	}
	return fmt.Sprintf("%s:%q", provider, username)
}

// handleLogout deletes the token the request came with.
func (a loginAPI) handleLogout(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	tok := &v1.Token{ObjectMeta: metav1.ObjectMeta{Name: id.TokenName}}
	if err := a.client.Delete(r.Context(), tok); client.IgnoreNotFound(err) != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), tok, true)
	if authn.FromBrowserSession(r.Context()) {
		websession.ClearCookie(w)
	}
	a.audit.Info("logged out", "actor", id.UserName, "token", id.TokenName, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

func (a loginAPI) handleMe(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var user v1.User
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &user); err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), &user))
}
