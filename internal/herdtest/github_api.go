package herdtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (g *GitHub) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.accessToken)
	mux.HandleFunc("GET /api/v3/user", g.api(g.apiUser))
	mux.HandleFunc("GET /api/v3/user/orgs", g.api(g.apiOrgs))
	mux.HandleFunc("GET /api/v3/user/teams", g.api(g.apiTeams))
	mux.HandleFunc("GET /api/v3/search/users", g.api(g.apiSearch))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.requests = append(g.requests, r.Method+" "+r.URL.Path)
		down := g.down
		g.mu.Unlock()
		if down {
			http.Error(w, "unicorn", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// authorize is the page where a signed-in user approves the app; here it
// approves at once and redirects with a code.
func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.ClientID {
		http.NotFound(w, r)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	session, err := r.Cookie("user_session")
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil || g.users[session.Value] == nil || g.orgs[session.Value] {
		http.Error(w, "sign in to GitHub first", http.StatusUnauthorized)
		return
	}
	code := strings.ToLower(rand.Text())[:20]
	g.codes[code] = gitHubCode{login: session.Value, redirectURI: redirect.String(),
		challenge: q.Get("code_challenge"), expires: time.Now().Add(10 * time.Minute)}
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// accessToken redeems a code once. As GitHub does, it answers errors with
// HTTP 200 and an error field.
func (g *GitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	answer := func(v map[string]string) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			form := url.Values{}
			for k, s := range v {
				form.Set(k, s)
			}
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.Write([]byte(form.Encode()))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(code, desc string) { answer(map[string]string{"error": code, "error_description": desc}) }
	if r.PostForm.Get("client_id") != g.ClientID ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(g.ClientSecret)) != 1 {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.codes[r.PostForm.Get("code")]
	delete(g.codes, r.PostForm.Get("code")) // single use, even when refused
	switch {
	case !ok || time.Now().After(c.expires):
		fail("bad_verification_code", "The code passed is incorrect or expired.")
	case r.PostForm.Get("redirect_uri") != "" && r.PostForm.Get("redirect_uri") != c.redirectURI:
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
	case c.challenge != "" && s256(r.PostForm.Get("code_verifier")) != c.challenge:
		fail("bad_verification_code", "The code_verifier does not match the code_challenge.")
	default:
		tok := "gho_" + rand.Text()
		g.tokens[tok] = c.login
		answer(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:org"})
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// api authenticates an API request; h runs with the token's user and
// the lock held.
func (g *GitHub) api(h func(http.ResponseWriter, *http.Request, *GitHubUser)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			tok, _ = strings.CutPrefix(auth, "token ")
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		u := g.users[g.tokens[tok]]
		if tok == "" || u == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
			return
		}
		h(w, r, u)
	}
}

func (g *GitHub) apiUser(w http.ResponseWriter, r *http.Request, u *GitHubUser) {
	writeJSON(w, map[string]any{"id": u.ID, "login": u.Login, "name": nullable(u.Name), "type": "User"})
}

func (g *GitHub) apiOrgs(w http.ResponseWriter, r *http.Request, u *GitHubUser) {
	var list []any
	for _, login := range u.Orgs {
		list = append(list, map[string]any{"id": g.users[login].ID, "login": login})
	}
	g.page(w, r, list)
}

func (g *GitHub) apiTeams(w http.ResponseWriter, r *http.Request, u *GitHubUser) {
	var list []any
	for _, t := range g.teams {
		if slices.Contains(u.Teams, t.Org+"/"+t.Slug) {
			list = append(list, map[string]any{"id": t.ID, "slug": t.Slug, "name": t.Name,
				"organization": map[string]any{"id": g.users[t.Org].ID, "login": t.Org}})
		}
	}
	g.page(w, r, list)
}

// apiSearch matches logins containing the query's words, with the
// qualifiers type:user and type:org.
func (g *GitHub) apiSearch(w http.ResponseWriter, r *http.Request, _ *GitHubUser) {
	var words []string
	kind := ""
	for _, f := range strings.Fields(r.URL.Query().Get("q")) {
		if k, ok := strings.CutPrefix(f, "type:"); ok {
			kind = k
		} else if !strings.Contains(f, ":") {
			words = append(words, strings.ToLower(f))
		}
	}
	var logins []string
	for login := range g.users {
		typ := "user"
		if g.orgs[login] {
			typ = "org"
		}
		if (kind == "" || kind == typ) && strings.Contains(strings.ToLower(login), strings.Join(words, " ")) {
			logins = append(logins, login)
		}
	}
	slices.Sort(logins)
	items := []any{}
	for _, login := range logins {
		typ := "User"
		if g.orgs[login] {
			typ = "Organization"
		}
		items = append(items, map[string]any{"id": g.users[login].ID, "login": login, "type": typ})
	}
	if n := perPage(r, 100); len(items) > n {
		items = items[:n]
	}
	writeJSON(w, map[string]any{"total_count": len(logins), "incomplete_results": false, "items": items})
}

// page writes one page of list with a Link header to the next, as GitHub
// does (absolute URLs, page and per_page).
func (g *GitHub) page(w http.ResponseWriter, r *http.Request, list []any) {
	size := perPage(r, g.pageSize)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	from := min((page-1)*size, len(list))
	to := min(from+size, len(list))
	if to < len(list) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", `<https://`+r.Host+next.RequestURI()+`>; rel="next"`)
	}
	writeJSON(w, append([]any{}, list[from:to]...))
}

// perPage is the request's per_page (default 30, at most 100), at most limit.
func perPage(r *http.Request, limit int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("per_page"))
	if err != nil || n <= 0 {
		n = 30
	}
	return min(n, 100, limit)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
