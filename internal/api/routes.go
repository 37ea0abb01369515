package api

import (
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/saml"
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
	users, tokens, login := usersAPI{a}, tokensAPI{a}, loginAPI{a}
	clusters, projects, members, roles := clustersAPI{a}, projectsAPI{a}, membersAPI{a}, rolesAPI{a}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", a.handleCACerts)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /readyz", a.handleReadyz)
	if a.cfg.Metrics != nil {
		mux.HandleFunc("GET /metrics", a.allowed("get", "metrics", func(w http.ResponseWriter, r *http.Request, _ *authn.Identity) {
			a.cfg.Metrics.ServeHTTP(w, r)
		}))
	}

	mux.HandleFunc("POST /v1/login", login.handleLogin)
	mux.HandleFunc("POST /v1/logout", a.authed(login.handleLogout))
	mux.HandleFunc("GET /v1/me", a.authed(login.handleMe))
	mux.HandleFunc("GET /v1/session", a.authed(login.handleSession))

	mux.HandleFunc("GET /v1/users", a.allowed("list", "users", users.handleListUsers))
	mux.HandleFunc("POST /v1/users", a.allowed("create", "users", users.handleCreateUser))
	mux.HandleFunc("GET /v1/users/{username}", a.authed(users.handleGetUser))
	mux.HandleFunc("PATCH /v1/users/{username}", a.allowed("update", "users", users.handleUpdateUser))
	mux.HandleFunc("DELETE /v1/users/{username}", a.allowed("delete", "users", users.handleDeleteUser))
	mux.HandleFunc("PUT /v1/users/{username}/password", a.authed(users.handleSetPassword))

	mux.HandleFunc("GET /v1/tokens", a.authed(tokens.handleListTokens))
	mux.HandleFunc("POST /v1/tokens", a.authed(tokens.handleCreateToken))
	mux.HandleFunc("DELETE /v1/tokens/{name}", a.authed(tokens.handleRevokeToken))

	sessions := sessionsAPI{a}
	mux.HandleFunc("GET /v1/sessions", a.authed(sessions.handleList))
	mux.HandleFunc("GET /v1/sessions/{name}", a.authed(sessions.handleGet))
	mux.HandleFunc("GET /v1/sessions/{name}/recording", a.authed(sessions.handleRecording))

	bundles := bundlesAPI{a}
	mux.HandleFunc("GET /v1/bundles", a.authed(bundles.handleList))
	mux.HandleFunc("GET /v1/bundles/{name}", a.authed(bundles.handleGet))
	mux.HandleFunc("PUT /v1/bundles/{name}", a.authed(bundles.handleApply))
	mux.HandleFunc("DELETE /v1/bundles/{name}", a.authed(bundles.handleDelete))
	mux.HandleFunc("POST /v1/bundles/{name}/refresh", a.authed(bundles.handleRefresh))

	mux.HandleFunc("GET /v1/clusters", a.authed(clusters.handleListClusters))
	mux.HandleFunc("POST /v1/clusters", a.allowed("create", "clusters", clusters.handleCreateCluster))
	mux.HandleFunc("GET /v1/clusters/{name}", a.authed(clusters.handleGetCluster))
	mux.HandleFunc("DELETE /v1/clusters/{name}", a.authed(clusters.handleDeleteCluster))
	mux.HandleFunc("POST /v1/clusters/{name}/import", a.authed(clusters.handleImport))
	mux.HandleFunc("GET /v1/clusters/{name}/kubeconfig", a.authed(clusters.handleKubeconfig))
	mux.HandleFunc("GET /v1/clusters/{name}/terminal", a.authed(clusters.handleTerminal))
	mux.HandleFunc("GET /v1/clusters/{name}/machines", a.authed(clusters.handleListMachines))
	mux.HandleFunc("PUT /v1/clusters/{name}/machinepools/{pool}", a.authed(clusters.handlePutMachinePool))
	mux.HandleFunc("POST /v1/clusters/{name}/etcd/snapshots", a.authed(clusters.handleSaveSnapshot))
	mux.HandleFunc("GET /v1/clusters/{name}/etcd/snapshots", a.authed(clusters.handleListSnapshots))
	mux.HandleFunc("DELETE /v1/clusters/{name}/etcd/snapshots/{snapshot}", a.authed(clusters.handleDeleteSnapshot))
	mux.HandleFunc("POST /v1/clusters/{name}/etcd/restores", a.authed(clusters.handleRestore))
	mux.HandleFunc("PUT /v1/clusters/{name}/etcd/s3", a.authed(clusters.handleSetS3))
	mux.HandleFunc("DELETE /v1/clusters/{name}/etcd/s3", a.authed(clusters.handleSetS3))
	mux.HandleFunc("GET /v1/clusters/{name}/etcd/restores", a.authed(clusters.handleListRestores))
	mux.HandleFunc("PUT /v1/clusters/{name}/etcd/schedule", a.authed(clusters.handleSetSchedule))
	mux.HandleFunc("PUT /v1/clusters/{name}/authorized-endpoint", a.authed(clusters.handleSetEndpoint))
	mux.HandleFunc("PUT /v1/clusters/{name}/kubernetes-version", a.authed(clusters.handleUpgrade))
	mux.HandleFunc("DELETE /v1/clusters/{name}/etcd/schedule", a.authed(clusters.handleSetSchedule))

	mux.HandleFunc("GET /v1/roles", a.allowed("list", "roletemplates", roles.handleListRoles))
	mux.HandleFunc("GET /v1/roles/{name}", a.allowed("get", "roletemplates", roles.handleGetRole))
	mux.HandleFunc("GET /v1/projects", a.authed(projects.handleListProjects))
	mux.HandleFunc("POST /v1/projects", a.authed(projects.handleCreateProject))
	mux.HandleFunc("GET /v1/projects/{name}", a.authed(projects.handleGetProject))
	mux.HandleFunc("DELETE /v1/projects/{name}", a.authed(projects.handleDeleteProject))
	mux.HandleFunc("POST /v1/projects/{name}/namespaces", a.authed(projects.handleAddNamespace))
	mux.HandleFunc("DELETE /v1/projects/{name}/namespaces/{namespace}", a.authed(projects.handleRemoveNamespace))
	mux.HandleFunc("GET /v1/members", a.authed(members.handleListMembers))
	mux.HandleFunc("POST /v1/members", a.authed(members.handleAddMember))
	mux.HandleFunc("DELETE /v1/members/{name}", a.authed(members.handleRemoveMember))

	mux.HandleFunc("GET /v1/auth/providers", login.handleListProviders)
	mux.HandleFunc("GET /v1/auth/providers/{type}", a.allowed("get", "authconfigs", login.handleGetProvider))
	mux.HandleFunc("PUT /v1/auth/providers/{type}", a.allowed("update", "authconfigs", login.handleUpdateProvider))
	mux.HandleFunc("POST /v1/auth/login/{type}", login.handleRedirectLogin)
	mux.HandleFunc("GET /v1/auth/callback/{type}", login.handleRedirectCallback)
	mux.HandleFunc("POST /v1/auth/callback/{type}", login.handlePostCallback)
	mux.HandleFunc("GET "+saml.MetadataPath, login.handleSAMLMetadata)
	mux.HandleFunc("POST /v1/auth/tickets", login.handleRedeemTicket)
	mux.HandleFunc("GET /v1/principals", a.authed(login.handleSearchPrincipals))
	mux.HandleFunc("POST /v1/users/{username}/refresh", a.allowed("update", "users", users.handleRefreshUser))

	mux.HandleFunc("GET /v1/import/{file}", clusters.handleImportManifest)
	mux.HandleFunc("POST /v1/agent/register", clusters.handleAgentRegister)
	mux.HandleFunc("POST /v1/node/register", a.handleNodeRegister)
	mux.HandleFunc("GET /v1/node/plan", a.handleNodePlan)
	mux.HandleFunc("PUT /v1/node/plan/status", a.handleNodePlanStatus)
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
