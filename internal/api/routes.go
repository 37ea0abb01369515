package api

import (
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/certs"

	"net/http"
	"strings"
	"time"
)

// caChecksumHeader carries the sha256 of the /cacerts body.
const caChecksumHeader = "X-Herd-Ca-Checksum"

// routes are the API's routes. a.allowed declares a route's global right
// (a GlobalRole rule); a.authed routes decide per object in the handler
// (the caller's own objects, clusters and projects they belong to).
func (a *API) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", a.handleCACerts)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /readyz", a.handleReadyz)

	mux.HandleFunc("POST /v1/login", a.handleLogin)
	mux.HandleFunc("POST /v1/logout", a.authed(a.handleLogout))
	mux.HandleFunc("GET /v1/me", a.authed(a.handleMe))

	mux.HandleFunc("GET /v1/users", a.allowed("list", "users", a.handleListUsers))
	mux.HandleFunc("POST /v1/users", a.allowed("create", "users", a.handleCreateUser))
	mux.HandleFunc("GET /v1/users/{username}", a.authed(a.handleGetUser))
	mux.HandleFunc("PATCH /v1/users/{username}", a.allowed("update", "users", a.handleUpdateUser))
	mux.HandleFunc("DELETE /v1/users/{username}", a.allowed("delete", "users", a.handleDeleteUser))
	mux.HandleFunc("PUT /v1/users/{username}/password", a.authed(a.handleSetPassword))

	mux.HandleFunc("GET /v1/tokens", a.authed(a.handleListTokens))
	mux.HandleFunc("POST /v1/tokens", a.authed(a.handleCreateToken))
	mux.HandleFunc("DELETE /v1/tokens/{name}", a.authed(a.handleRevokeToken))

	mux.HandleFunc("GET /v1/clusters", a.authed(a.handleListClusters))
	mux.HandleFunc("POST /v1/clusters", a.allowed("create", "clusters", a.handleCreateCluster))
	mux.HandleFunc("GET /v1/clusters/{name}", a.authed(a.handleGetCluster))
	mux.HandleFunc("DELETE /v1/clusters/{name}", a.authed(a.handleDeleteCluster))
	mux.HandleFunc("POST /v1/clusters/{name}/import", a.authed(a.handleImport))
	mux.HandleFunc("GET /v1/clusters/{name}/kubeconfig", a.authed(a.handleKubeconfig))

	mux.HandleFunc("GET /v1/roles", a.allowed("list", "roletemplates", a.handleListRoles))
	mux.HandleFunc("GET /v1/roles/{name}", a.allowed("get", "roletemplates", a.handleGetRole))
	mux.HandleFunc("GET /v1/projects", a.authed(a.handleListProjects))
	mux.HandleFunc("POST /v1/projects", a.authed(a.handleCreateProject))
	mux.HandleFunc("GET /v1/projects/{name}", a.authed(a.handleGetProject))
	mux.HandleFunc("DELETE /v1/projects/{name}", a.authed(a.handleDeleteProject))
	mux.HandleFunc("POST /v1/projects/{name}/namespaces", a.authed(a.handleAddNamespace))
	mux.HandleFunc("DELETE /v1/projects/{name}/namespaces/{namespace}", a.authed(a.handleRemoveNamespace))
	mux.HandleFunc("GET /v1/members", a.authed(a.handleListMembers))
	mux.HandleFunc("POST /v1/members", a.authed(a.handleAddMember))
	mux.HandleFunc("DELETE /v1/members/{name}", a.authed(a.handleRemoveMember))

	mux.HandleFunc("GET /v1/auth/providers", a.handleListProviders)
	mux.HandleFunc("GET /v1/auth/providers/{type}", a.allowed("get", "authconfigs", a.handleGetProvider))
	mux.HandleFunc("PUT /v1/auth/providers/{type}", a.allowed("update", "authconfigs", a.handleUpdateProvider))
	mux.HandleFunc("POST /v1/auth/login/{type}", a.handleRedirectLogin)
	mux.HandleFunc("GET /v1/auth/callback/{type}", a.handleRedirectCallback)
	mux.HandleFunc("POST /v1/auth/tickets", a.handleRedeemTicket)
	mux.HandleFunc("GET /v1/principals", a.authed(a.handleSearchPrincipals))
	mux.HandleFunc("POST /v1/users/{username}/refresh", a.allowed("update", "users", a.handleRefreshUser))

	mux.HandleFunc("GET /v1/import/{file}", a.handleImportManifest)
	mux.HandleFunc("POST /v1/agent/register", a.handleAgentRegister)
	return a.withDeadlines(a.audited(mux))
}

// ServeHTTP serves the API's routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.once.Do(func() { a.handler = a.routes() })
	a.handler.ServeHTTP(w, r)
}

// withDeadlines sets read and write deadlines (RequestReadTimeout,
// RequestWriteTimeout) on every request except the streaming ones: the
// proxy (watches, exec, logs -f) and the agent tunnel. A client that sends
// its body or reads the answer slower than that is cut off, so slow
// clients cannot hold connections and goroutines without end.
func (a *API) withDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, authproxy.Prefix) && r.URL.Path != "/v1/connect" {
			rc := http.NewResponseController(w)
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(a.cfg.RequestReadTimeout))
			_ = rc.SetWriteDeadline(now.Add(a.cfg.RequestWriteTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// handleCACerts serves the CA bundle that clients pin, unauthenticated, with
// its sha256 checksum in a header.
func (a *API) handleCACerts(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set(caChecksumHeader, certs.Checksum(a.cfg.CABundle))
	_, _ = w.Write(a.cfg.CABundle)
}

// handleReadyz answers 200 while the management cluster answers its /readyz.
func (a *API) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !a.cfg.Ready() || a.cfg.ManagementReady(r.Context()) != nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}
