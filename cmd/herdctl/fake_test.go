package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdapi"
)

// created is when the fake's objects were made; tests run at testNow.
var (
	created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testNow = created.Add(50 * time.Hour)
)

// seen is a request the fake server got.
type seen struct {
	Method, URI, Auth string
	Body              string
}

// fakeServer implements just enough of the Herd API to check what herdctl
// sends: users alice (admin) and bob, clusters, tokens, roles, projects
// and members (fakeRBAC), and identity providers (fakeAuth).
type fakeServer struct {
	*httptest.Server
	fakeRBAC
	fakeAuth
	mu         sync.Mutex
	requests   []seen
	passwords  map[string]string            // username -> password
	users      map[string]herdapi.User      // username -> user
	tokens     map[string]herdapi.TokenInfo // secret -> info
	clusters   map[string]herdapi.Cluster
	imports    []herdapi.ImportRequest
	retryAfter int // > 0: logins get 429
	seq        int
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{
		passwords: map[string]string{"alice": "s3cret", "bob": "hunter2"},
		users: map[string]herdapi.User{
			"alice": {Name: "u-alice", Username: "alice", DisplayName: "Alice", Enabled: true, GlobalRoles: []string{"admin"}, CreatedAt: created},
			"bob":   {Name: "u-bob", Username: "bob", Enabled: true, GlobalRoles: []string{"user"}, CreatedAt: created},
		},
		tokens: map[string]herdapi.TokenInfo{},
		clusters: map[string]herdapi.Cluster{
			"prod": {Name: "prod", DisplayName: "Production", Connected: "True", Ready: "True", Version: "v1.37.2", NodeCount: 3, CreatedAt: created},
		},
		fakeRBAC: newFakeRBAC(),
		fakeAuth: newFakeAuth(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(f.caPEM()) })
	mux.HandleFunc("POST /v1/login", f.login)
	mux.HandleFunc("POST /v1/logout", f.authed(false, f.logout))
	mux.HandleFunc("GET /v1/me", f.authed(false, func(w http.ResponseWriter, _ *http.Request, me herdapi.User) { reply(w, 200, me) }))
	mux.HandleFunc("GET /v1/clusters", f.authed(false, f.listClusters))
	mux.HandleFunc("GET /v1/clusters/{name}", f.authed(false, f.getCluster))
	mux.HandleFunc("POST /v1/clusters", f.authed(true, f.createCluster))
	mux.HandleFunc("DELETE /v1/clusters/{name}", f.authed(true, f.deleteCluster))
	mux.HandleFunc("POST /v1/clusters/{name}/import", f.authed(true, f.importCluster))
	mux.HandleFunc("GET /v1/users", f.authed(true, f.listUsers))
	mux.HandleFunc("POST /v1/users", f.authed(true, f.createUser))
	mux.HandleFunc("PATCH /v1/users/{username}", f.authed(true, f.updateUser))
	mux.HandleFunc("DELETE /v1/users/{username}", f.authed(true, f.deleteUser))
	mux.HandleFunc("PUT /v1/users/{username}/password", f.authed(false, f.setPassword))
	mux.HandleFunc("GET /v1/tokens", f.authed(false, f.listTokens))
	mux.HandleFunc("POST /v1/tokens", f.authed(false, f.createToken))
	mux.HandleFunc("DELETE /v1/tokens/{name}", f.authed(false, f.revokeToken))
	f.routeRBAC(mux)
	f.routeAuth(mux)
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.requests = append(f.requests, seen{Method: r.Method, URI: r.URL.RequestURI(), Auth: r.Header.Get("Authorization"), Body: string(body)})
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	f.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	f.StartTLS()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
}

// find returns the requests with method and URI.
func (f *fakeServer) find(method, uri string) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, r := range f.requests {
		if r.Method == method && r.URI == uri {
			out = append(out, r)
		}
	}
	return out
}

// since returns the requests after the first n.
func (f *fakeServer) since(n int) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests[n:])
}

// issue makes a token for username and returns its secret.
func (f *fakeServer) issue(username, kind string) (string, herdapi.TokenInfo) {
	f.seq++
	secret := fmt.Sprintf("secret-%d", f.seq)
	info := herdapi.TokenInfo{
		Name: fmt.Sprintf("t-%d", f.seq), UserName: f.users[username].Name, Username: username, Kind: kind,
		Enabled: true, ExpiresAt: testNow.Add(16 * time.Hour), CreatedAt: created,
	}
	f.tokens[secret] = info
	return secret, info
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func fail(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	reply(w, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}

func decode(r *http.Request, v any) {
	_ = json.NewDecoder(r.Body).Decode(v)
}

type handler func(w http.ResponseWriter, r *http.Request, me herdapi.User)

// authed checks the bearer token, and with admin the admin role.
func (f *fakeServer) authed(admin bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		info, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			fail(w, 401, metav1.StatusReasonUnauthorized, "Unauthorized: log in with `herdctl login`")
			return
		}
		me := f.users[info.Username]
		if admin && !slices.Contains(me.GlobalRoles, "admin") {
			fail(w, 403, metav1.StatusReasonForbidden, "forbidden: you may not "+strings.ToLower(r.Method)+" "+r.URL.Path)
			return
		}
		h(w, r, me)
	}
}

func (f *fakeServer) login(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req herdapi.LoginRequest
	decode(r, &req)
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(f.retryAfter))
		fail(w, 429, metav1.StatusReasonTooManyRequests, "too many failed logins")
		return
	}
	if pw, ok := f.passwords[req.Username]; !ok || pw != req.Password {
		fail(w, 401, metav1.StatusReasonUnauthorized, "invalid username or password")
		return
	}
	secret, info := f.issue(req.Username, req.Kind)
	reply(w, 201, herdapi.TokenResponse{Token: secret, Info: info})
}

func (f *fakeServer) logout(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	delete(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	w.WriteHeader(204)
}

func (f *fakeServer) listClusters(w http.ResponseWriter, _ *http.Request, _ herdapi.User) {
	list := herdapi.ClusterList{Items: []herdapi.Cluster{}}
	for _, c := range f.clusters {
		list.Items = append(list.Items, c)
	}
	slices.SortFunc(list.Items, func(a, b herdapi.Cluster) int { return strings.Compare(a.Name, b.Name) })
	reply(w, 200, list)
}

func (f *fakeServer) getCluster(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	c, ok := f.clusters[r.PathValue("name")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "cluster not found")
		return
	}
	reply(w, 200, c)
}

func (f *fakeServer) importInfo(name string) herdapi.ImportInfo {
	url := f.URL + "/v1/import/regtoken-" + name + ".yaml"
	return herdapi.ImportInfo{URL: url, Command: "kubectl apply -f " + url, ExpiresAt: testNow.Add(time.Hour)}
}

func (f *fakeServer) createCluster(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	var req herdapi.ClusterCreateRequest
	decode(r, &req)
	if _, ok := f.clusters[req.Name]; ok {
		fail(w, 409, metav1.StatusReasonAlreadyExists, "cluster already exists")
		return
	}
	c := herdapi.Cluster{Name: req.Name, DisplayName: req.DisplayName, Description: req.Description, Connected: "False", Ready: "Unknown", CreatedAt: testNow}
	f.clusters[req.Name] = c
	reply(w, 201, herdapi.ClusterCreateResponse{Cluster: c, Import: f.importInfo(req.Name)})
}

func (f *fakeServer) deleteCluster(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	if _, ok := f.clusters[r.PathValue("name")]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "cluster not found")
		return
	}
	delete(f.clusters, r.PathValue("name"))
	w.WriteHeader(204)
}

func (f *fakeServer) importCluster(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	if _, ok := f.clusters[r.PathValue("name")]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "cluster not found")
		return
	}
	var req herdapi.ImportRequest
	decode(r, &req)
	f.imports = append(f.imports, req)
	reply(w, 201, f.importInfo(r.PathValue("name")))
}

func (f *fakeServer) listUsers(w http.ResponseWriter, _ *http.Request, _ herdapi.User) {
	list := herdapi.UserList{Items: []herdapi.User{}}
	for _, u := range f.users {
		list.Items = append(list.Items, u)
	}
	slices.SortFunc(list.Items, func(a, b herdapi.User) int { return strings.Compare(a.Username, b.Username) })
	reply(w, 200, list)
}

func (f *fakeServer) createUser(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	var req herdapi.UserCreateRequest
	decode(r, &req)
	if _, ok := f.users[req.Username]; ok {
		fail(w, 409, metav1.StatusReasonAlreadyExists, "user already exists")
		return
	}
	u := herdapi.User{Name: "u-" + req.Username, Username: req.Username, DisplayName: req.DisplayName, Enabled: true, GlobalRoles: req.GlobalRoles, CreatedAt: testNow}
	f.users[req.Username], f.passwords[req.Username] = u, req.Password
	reply(w, 201, u)
}

func (f *fakeServer) updateUser(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	u, ok := f.users[r.PathValue("username")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "user not found")
		return
	}
	var req herdapi.UserUpdateRequest
	decode(r, &req)
	if req.Enabled != nil {
		u.Enabled = *req.Enabled
	}
	f.users[u.Username] = u
	reply(w, 200, u)
}

func (f *fakeServer) deleteUser(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	if _, ok := f.users[r.PathValue("username")]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "user not found")
		return
	}
	delete(f.users, r.PathValue("username"))
	w.WriteHeader(204)
}

func (f *fakeServer) setPassword(w http.ResponseWriter, r *http.Request, me herdapi.User) {
	username := r.PathValue("username")
	var req herdapi.PasswordRequest
	decode(r, &req)
	switch {
	case username == me.Username && req.CurrentPassword != f.passwords[username]:
		fail(w, 403, "Forbidden", "currentPassword is wrong")
		return
	case username != me.Username && !slices.Contains(me.GlobalRoles, "admin"):
		fail(w, 403, metav1.StatusReasonForbidden, "forbidden: you may not update users")
		return
	}
	f.passwords[username] = req.Password
	w.WriteHeader(204)
}

func (f *fakeServer) listTokens(w http.ResponseWriter, r *http.Request, me herdapi.User) {
	list := herdapi.TokenList{Items: []herdapi.TokenInfo{}}
	for secret, t := range f.tokens {
		if r.URL.Query().Get("all") == "true" || t.Username == me.Username {
			t.Current = secret == strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			list.Items = append(list.Items, t)
		}
	}
	slices.SortFunc(list.Items, func(a, b herdapi.TokenInfo) int { return strings.Compare(a.Name, b.Name) })
	reply(w, 200, list)
}

func (f *fakeServer) createToken(w http.ResponseWriter, r *http.Request, me herdapi.User) {
	var req herdapi.TokenCreateRequest
	decode(r, &req)
	secret, info := f.issue(me.Username, req.Kind)
	info.Description, info.ClusterName = req.Description, req.ClusterName
	f.tokens[secret] = info
	reply(w, 201, herdapi.TokenResponse{Token: secret, Info: info})
}

func (f *fakeServer) revokeToken(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	for secret, t := range f.tokens {
		if t.Name == r.PathValue("name") {
			delete(f.tokens, secret)
			w.WriteHeader(204)
			return
		}
	}
	fail(w, 404, metav1.StatusReasonNotFound, "token not found")
}
