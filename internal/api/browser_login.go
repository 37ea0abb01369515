package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/saml"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/websession"
)

// loopbackRedirect checks that the CLI's callback is on this machine.
func loopbackRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Port() == "" {
		return errors.New("cliRedirect must be http://127.0.0.1:PORT/... or http://localhost:PORT/...")
	}
	if h := u.Hostname(); h != "localhost" && !net.ParseIP(h).IsLoopback() {
		return errors.New("cliRedirect must be a loopback address")
	}
	return nil
}

func (a loginAPI) handleRedirectLogin(w http.ResponseWriter, r *http.Request) {
	var req herdapi.RedirectLoginRequest
	if !a.decode(w, r, &req) {
		return
	}
	if wait := a.byFlow.Attempt(sourceKey(r)); wait > 0 { // counts every start, not only failures
		a.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "too many logins started; try again in a minute",
			fmt.Errorf("browser logins from %s are rate limited", sourceAddr(r)))
		return
	}
	if req.Console {
		if req.CLIRedirect != "" || req.CLIChallenge != "" {
			a.invalid(w, r, "a console login has no cliRedirect nor cliChallenge")
			return
		}
		if websession.CrossSite(r) {
			a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden, "web console logins come only from the console's own pages",
				fmt.Errorf("a console browser login from another origin (%q)", r.Header.Get("Origin")))
			return
		}
	} else {
		if len(req.CLIRedirect) > 256 {
			a.invalid(w, r, "cliRedirect is limited to 256 bytes")
			return
		}
		if err := loopbackRedirect(req.CLIRedirect); err != nil {
			a.invalid(w, r, err.Error())
			return
		}
		if c, err := base64.RawURLEncoding.DecodeString(req.CLIChallenge); err != nil || len(c) != sha256.Size {
			a.invalid(w, r, "cliChallenge must be base64url(sha256(verifier)) without padding")
			return
		}
	}
	if n, err := a.dir.OutstandingFlows(r.Context(), a.cfg.MaxLoginFlows); err != nil || n >= a.cfg.MaxLoginFlows {
		w.Header().Set("Retry-After", "60")
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"too many browser logins are under way; try again in a minute", fmt.Errorf("%d outstanding browser logins (err %v)", n, err))
		return
	}
	typ := r.PathValue("type")
	p, err := a.dir.Provider(r.Context(), typ)
	rp, ok := p.(authn.RedirectProvider)
	if err != nil || !ok {
		a.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			"identity provider "+typ+" is not enabled for browser logins; see `herdctl auth show`", err)
		return
	}
	if a.cfg.ServerURL == "" {
		// The redirect URI must never come from the request's Host header.
		a.invalid(w, r, "browser logins need the server's public URL: start herd server with --server-url")
		return
	}
	state, verifier := herdtoken.NewSecret(), herdtoken.NewSecret()
	redirect := strings.TrimSuffix(a.cfg.ServerURL, "/") + "/v1/auth/callback/" + typ
	expires := a.now().Add(identity.LoginRequestTTL)
	flow := map[string]string{"provider": typ, "verifier": verifier, "cliRedirect": req.CLIRedirect, "cliChallenge": req.CLIChallenge, "redirect": redirect}
	var binding string
	if req.Console {
		// The login binds to this browser: the callback needs the cookie
		// set here, so a login started elsewhere (an attacker's, to log the
		// victim into the attacker's account) does not finish here.
		binding = herdtoken.NewSecret()
		flow["console"] = "true"
		flow["binding"] = websession.BindingHash(binding)
	}
	if err := a.dir.SaveFlow(r.Context(), identity.FlowSecretName("login", state), expires, flow); err != nil {
		a.internal(w, r, err)
		return
	}
	authURL := rp.AuthCodeURL(state, verifier, redirect)
	if authURL == "" {
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"identity provider "+typ+" cannot start a login now; see the server's log", fmt.Errorf("identity provider %s made no login URL", typ))
		return
	}
	if binding != "" {
		websession.SetLoginCookie(w, binding, expires)
	}
	writeJSON(w, http.StatusOK, herdapi.RedirectLoginResponse{AuthURL: authURL, ExpiresAt: expires})
}

// handleRedirectCallback finishes a browser login: it redeems the
// provider's code, finds or makes the user, and sends the browser to the
// CLI's loopback with a single-use ticket.
func (a loginAPI) handleRedirectCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.finishCallback(w, r, q.Get("state"), q.Get("code"), q.Get("error"))
}

// maxCallbackForm bounds the form an identity provider posts to the
// callback (a SAML Response is base64 XML of at most 256 KiB).
const maxCallbackForm = 512 << 10

// handlePostCallback is the callback for providers that post their answer
// from the browser: SAML's HTTP-POST binding (RelayState, SAMLResponse),
// and OAuth's form_post response mode (state, code).
func (a loginAPI) handlePostCallback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackForm)
	if err := r.ParseForm(); err != nil {
		a.refuseCallback(w, r, fmt.Errorf("%w: unreadable callback form: %v", authn.ErrFlow, err))
		return
	}
	f := r.PostForm
	state, code := f.Get("RelayState"), f.Get("SAMLResponse")
	if state == "" && code == "" {
		state, code = f.Get("state"), f.Get("code")
	}
	a.finishCallback(w, r, state, code, f.Get("error"))
}

// refuseCallback answers a callback that did not log anyone in.
func (a loginAPI) refuseCallback(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Warn("browser login refused", "provider", r.PathValue("type"), "from", sourceAddr(r), "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintln(w, "Herd: this login did not succeed (it may have expired or been used already). Start it again from `herdctl login` or the web console.")
}

// finishCallback redeems the provider's answer to the login of state.
func (a loginAPI) finishCallback(w http.ResponseWriter, r *http.Request, state, code, providerErr string) {
	typ := r.PathValue("type")
	req, err := a.dir.TakeFlow(r.Context(), identity.FlowSecretName("login", state))
	if err == nil && req["provider"] != typ {
		err = fmt.Errorf("%w: state of provider %s used with %s", authn.ErrFlow, req["provider"], typ)
	}
	if err == nil && providerErr != "" {
		err = fmt.Errorf("%w: the provider refused: %.200s", authn.ErrFlow, providerErr)
	}
	var user *v1.User
	if err == nil {
		user, err = a.finishRedirect(r.Context(), typ, code, req)
	}
	console := err == nil && req["console"] == "true"
	if console {
		websession.ClearLoginCookie(w)
		if !websession.LoginBound(r, req["binding"]) {
			err = fmt.Errorf("%w: a console login finished in another browser than it started in", authn.ErrFlow)
		}
	}
	if err != nil {
		a.refuseCallback(w, r, err)
		return
	}
	if console {
		a.finishConsoleLogin(w, r, user)
		return
	}
	ticket := herdtoken.NewSecret()
	if err := a.dir.SaveFlow(r.Context(), identity.FlowSecretName("ticket", ticket), a.now().Add(identity.TicketTTL),
		map[string]string{"user": user.Name, "cliChallenge": req["cliChallenge"]}); err != nil {
		a.internal(w, r, err)
		return
	}
	back, _ := url.Parse(req["cliRedirect"])
	v := back.Query()
	v.Set("ticket", ticket)
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (a loginAPI) finishRedirect(ctx context.Context, typ, code string, req map[string]string) (*v1.User, error) {
	p, err := a.dir.Provider(ctx, typ)
	if err != nil {
		return nil, err
	}
	rp, ok := p.(authn.RedirectProvider)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no browser login", identity.ErrNoProvider, typ)
	}
	ident, err := rp.Exchange(ctx, code, req["verifier"], req["redirect"])
	if err != nil {
		return nil, err
	}
	return a.dir.ExternalUser(ctx, ident)
}

// handleRedeemTicket gives the CLI its token for the ticket the browser
// brought, when the CLI proves it started the login.
func (a loginAPI) handleRedeemTicket(w http.ResponseWriter, r *http.Request) {
	var req herdapi.TicketRedeemRequest
	if !a.decode(w, r, &req) {
		return
	}
	t, err := a.dir.TakeFlow(r.Context(), identity.FlowSecretName("ticket", req.Ticket))
	if err == nil {
		sum := sha256.Sum256([]byte(req.Verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(t["cliChallenge"])) != 1 {
			err = fmt.Errorf("%w: verifier does not match", authn.ErrFlow)
		}
	}
	var user v1.User
	if err == nil {
		err = a.cache.Get(r.Context(), client.ObjectKey{Name: t["user"]}, &user)
	}
	if err != nil {
		a.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "the login ticket is not valid; run `herdctl login` again", err)
		return
	}
	a.issueToken(w, r, &user, authn.TokenRequest{Kind: req.Kind, TTL: time.Duration(req.TTLSeconds) * time.Second, Description: req.Description}, true)
}

// finishConsoleLogin starts the web console's session for a user back
// from the identity provider and sends the browser to the console.
func (a loginAPI) finishConsoleLogin(w http.ResponseWriter, r *http.Request, user *v1.User) {
	if _, _, err := a.setSessionCookie(w, r, user, authn.TokenRequest{}); err != nil {
		a.log.Error("console login: no session token", "user", user.Name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintln(w, "Herd: the login succeeded but no session could be started; try again.")
		return
	}
	http.Redirect(w, r, "/#/clusters", http.StatusFound)
}

// handleSAMLMetadata serves Herd's SAML service provider metadata (entity
// id, callback, signing certificate), for the IdP's administrator.
func (a loginAPI) handleSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	p, err := a.dir.Provider(r.Context(), authn.ProviderSAML)
	sp, ok := p.(*saml.Provider)
	if err != nil || !ok || a.cfg.ServerURL == "" {
		a.notFound(w, r, "the SAML identity provider (enable it with `herdctl auth enable saml`)")
		return
	}
	md, err := sp.Metadata(r.Context(), strings.TrimSuffix(a.cfg.ServerURL, "/")+saml.CallbackPath)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(md)
}
