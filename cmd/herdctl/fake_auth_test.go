package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdapi"
)

// fakeAuth is the fake's identity providers: github is enabled and
// openldap configured but disabled. A browser login goes to a fake
// provider page on the same server, which logs in redirectUser at once
// and sends the browser back to herdctl with a ticket.
type fakeAuth struct {
	providers     map[string]fakeProvider
	logins        map[string]herdapi.RedirectLoginRequest // state -> the CLI's request
	tickets       map[string]fakeTicket
	redirectUser  string
	lastRedirect  string // the CLI's loopback URL of the latest browser login
	refuseTickets bool   // tickets get 401
	principals    []herdapi.Principal
	groups        map[string][]string // username -> groups the provider reports at refresh
	authSeq       int
}

type fakeProvider struct {
	herdapi.Provider
	secrets map[string]string
}

type fakeTicket struct{ challenge, username string }

func newFakeAuth() fakeAuth {
	return fakeAuth{
		providers: map[string]fakeProvider{
			"github": {Provider: herdapi.Provider{Type: "github", Enabled: true, Flow: "redirect",
				Settings: map[string]string{"clientID": "Iv1.old", "baseURL": "https://github.example.com"}},
				secrets: map[string]string{"clientSecret": "gh-secret"}},
			"openldap": {Provider: herdapi.Provider{Type: "openldap", Flow: "password",
				Settings: map[string]string{"servers": "ldap.example.com"}}, secrets: map[string]string{}},
		},
		logins:       map[string]herdapi.RedirectLoginRequest{},
		tickets:      map[string]fakeTicket{},
		redirectUser: "bob",
		principals: []herdapi.Principal{
			{ID: "github_team://7", Kind: "group", Provider: "github", Name: "devs", DisplayName: "Developers"},
			{ID: "github_user://9", Kind: "user", Provider: "github", Name: "devon"},
			{ID: "local://u-alice", Kind: "user", Provider: "local", Name: "alice", DisplayName: "Alice"},
		},
		groups: map[string][]string{"bob": {"github_org://1", "github_team://7"}},
	}
}

func (f *fakeServer) routeAuth(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/auth/providers", f.listProviders)
	mux.HandleFunc("GET /v1/auth/providers/{type}", f.authed(true, f.getProvider))
	mux.HandleFunc("PUT /v1/auth/providers/{type}", f.authed(true, f.updateProvider))
	mux.HandleFunc("POST /v1/auth/login/{type}", f.startRedirectLogin)
	mux.HandleFunc("GET /fake-idp/authorize", f.fakeProviderPage)
	mux.HandleFunc("POST /v1/auth/tickets", f.redeemTicket)
	mux.HandleFunc("GET /v1/principals", f.authed(false, f.searchPrincipals))
	mux.HandleFunc("GET /v1/users/{username}", f.authed(false, f.getUser))
	mux.HandleFunc("POST /v1/users/{username}/refresh", f.authed(true, f.refreshUser))
}

func (f *fakeServer) listProviders(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := herdapi.ProviderList{Items: []herdapi.Provider{{Type: "local", Enabled: true, Flow: "password"}}}
	for _, typ := range slices.Sorted(maps.Keys(f.providers)) {
		if p := f.providers[typ]; p.Enabled {
			list.Items = append(list.Items, herdapi.Provider{Type: p.Type, Enabled: true, Flow: p.Flow})
		}
	}
	reply(w, 200, list)
}

// shown is p as the API shows it to admins.
func (p fakeProvider) shown() herdapi.Provider {
	out := p.Provider
	out.SecretKeys = slices.Sorted(maps.Keys(p.secrets))
	return out
}

func (f *fakeServer) getProvider(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	p, ok := f.providers[r.PathValue("type")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "identity provider not found")
		return
	}
	reply(w, 200, p.shown())
}

func (f *fakeServer) updateProvider(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	typ := r.PathValue("type")
	flow := map[string]string{"openldap": "password", "activedirectory": "password", "github": "redirect", "oidc": "redirect"}[typ]
	if flow == "" {
		fail(w, 422, metav1.StatusReasonInvalid, "unknown identity provider "+typ+"; Herd has activedirectory, github, oidc, openldap")
		return
	}
	var req herdapi.ProviderUpdate
	decode(r, &req)
	p, ok := f.providers[typ]
	if !ok {
		p = fakeProvider{Provider: herdapi.Provider{Type: typ, Flow: flow}, secrets: map[string]string{}}
	}
	if req.Settings != nil {
		p.Settings = req.Settings
	}
	if req.Enabled != nil {
		p.Enabled = *req.Enabled
	}
	if p.Enabled && flow == "redirect" && p.Settings["clientID"] == "" {
		fail(w, 422, metav1.StatusReasonInvalid, "identity provider "+typ+": clientID is required")
		return
	}
	for k, v := range req.Secrets {
		if v == "" {
			delete(p.secrets, k)
		} else {
			p.secrets[k] = v
		}
	}
	f.providers[typ] = p
	reply(w, 200, p.shown())
}

// startRedirectLogin checks the CLI's request as the server does and
// sends the browser to the fake provider page.
func (f *fakeServer) startRedirectLogin(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	typ := r.PathValue("type")
	if p, ok := f.providers[typ]; !ok || !p.Enabled || p.Flow != "redirect" {
		fail(w, 422, metav1.StatusReasonInvalid, "identity provider "+typ+" is not enabled for browser logins; see `herdctl auth show`")
		return
	}
	var req herdapi.RedirectLoginRequest
	decode(r, &req)
	back, err := url.Parse(req.CLIRedirect)
	if err != nil || back.Scheme != "http" || back.Hostname() != "127.0.0.1" || back.Port() == "" {
		fail(w, 422, metav1.StatusReasonInvalid, "cliRedirect must be http://127.0.0.1:PORT/...")
		return
	}
	if c, err := base64.RawURLEncoding.DecodeString(req.CLIChallenge); err != nil || len(c) != sha256.Size {
		fail(w, 422, metav1.StatusReasonInvalid, "cliChallenge must be base64url(sha256(verifier)) without padding")
		return
	}
	f.authSeq++
	state := fmt.Sprintf("state-%d", f.authSeq)
	f.logins[state], f.lastRedirect = req, req.CLIRedirect
	reply(w, 200, herdapi.RedirectLoginResponse{AuthURL: f.URL + "/fake-idp/authorize?state=" + state, ExpiresAt: testNow.Add(10 * time.Minute)})
}

// fakeProviderPage is the provider and the server's callback in one: it
// logs in redirectUser and sends the browser to the CLI with a ticket.
func (f *fakeServer) fakeProviderPage(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, ok := f.logins[r.URL.Query().Get("state")]
	if !ok {
		http.Error(w, "Herd: this login did not succeed. Run `herdctl login` again.", 400)
		return
	}
	delete(f.logins, r.URL.Query().Get("state"))
	f.authSeq++
	ticket := fmt.Sprintf("ticket-%d", f.authSeq)
	f.tickets[ticket] = fakeTicket{challenge: req.CLIChallenge, username: f.redirectUser}
	back, _ := url.Parse(req.CLIRedirect)
	back.RawQuery = url.Values{"ticket": {ticket}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// lastCLIRedirect is the loopback URL of the latest browser login.
func (f *fakeServer) lastCLIRedirect() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRedirect
}

func (f *fakeServer) redeemTicket(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req herdapi.TicketRedeemRequest
	decode(r, &req)
	t, ok := f.tickets[req.Ticket]
	delete(f.tickets, req.Ticket)
	sum := sha256.Sum256([]byte(req.Verifier))
	if !ok || f.refuseTickets || base64.RawURLEncoding.EncodeToString(sum[:]) != t.challenge {
		fail(w, 401, metav1.StatusReasonUnauthorized, "the login ticket is not valid; run `herdctl login` again")
		return
	}
	secret, info := f.issue(t.username, req.Kind)
	reply(w, 201, herdapi.TokenResponse{Token: secret, Info: info})
}

func (f *fakeServer) searchPrincipals(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	q := r.URL.Query().Get("q")
	if q == "" {
		fail(w, 422, metav1.StatusReasonInvalid, "give a search text of 1 to 256 bytes: ?q=TEXT")
		return
	}
	list := herdapi.PrincipalList{Items: []herdapi.Principal{}}
	for _, p := range f.principals {
		if strings.HasPrefix(p.Name, q) {
			list.Items = append(list.Items, p)
		}
	}
	reply(w, 200, list)
}

func (f *fakeServer) getUser(w http.ResponseWriter, r *http.Request, me herdapi.User) {
	u, ok := f.users[r.PathValue("username")]
	switch {
	case u.Username != me.Username && !slices.Contains(me.GlobalRoles, "admin"):
		fail(w, 403, metav1.StatusReasonForbidden, "forbidden: you may not get users")
	case !ok:
		fail(w, 404, metav1.StatusReasonNotFound, "user not found")
	default:
		reply(w, 200, u)
	}
}

func (f *fakeServer) refreshUser(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	u, ok := f.users[r.PathValue("username")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "user not found")
		return
	}
	u.Groups = f.groups[u.Username]
	f.users[u.Username] = u
	reply(w, 200, u)
}
