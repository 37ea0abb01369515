package server

import (
	"herd.dev/herd/internal/authproxy"

	"context"
	"net/http"
	"strings"
	"time"
)

// caChecksumHeader carries the sha256 of the /cacerts body.
const caChecksumHeader = "X-Herd-Ca-Checksum"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", s.handleCACerts)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /readyz", s.handleReadyz)

	mux.HandleFunc("POST /v1/login", s.handleLogin)
	mux.HandleFunc("POST /v1/logout", s.authed(s.handleLogout))
	mux.HandleFunc("GET /v1/me", s.authed(s.handleMe))

	mux.HandleFunc("GET /v1/users", s.authed(s.handleListUsers))
	mux.HandleFunc("POST /v1/users", s.authed(s.handleCreateUser))
	mux.HandleFunc("GET /v1/users/{username}", s.authed(s.handleGetUser))
	mux.HandleFunc("PATCH /v1/users/{username}", s.authed(s.handleUpdateUser))
	mux.HandleFunc("DELETE /v1/users/{username}", s.authed(s.handleDeleteUser))
	mux.HandleFunc("PUT /v1/users/{username}/password", s.authed(s.handleSetPassword))

	mux.HandleFunc("GET /v1/tokens", s.authed(s.handleListTokens))
	mux.HandleFunc("POST /v1/tokens", s.authed(s.handleCreateToken))
	mux.HandleFunc("DELETE /v1/tokens/{name}", s.authed(s.handleRevokeToken))

	mux.HandleFunc("GET /v1/clusters", s.authed(s.handleListClusters))
	mux.HandleFunc("POST /v1/clusters", s.authed(s.handleCreateCluster))
	mux.HandleFunc("GET /v1/clusters/{name}", s.authed(s.handleGetCluster))
	mux.HandleFunc("DELETE /v1/clusters/{name}", s.authed(s.handleDeleteCluster))
	mux.HandleFunc("POST /v1/clusters/{name}/import", s.authed(s.handleImport))
	mux.HandleFunc("GET /v1/clusters/{name}/kubeconfig", s.authed(s.handleKubeconfig))

	mux.HandleFunc("GET /v1/roles", s.authed(s.handleListRoles))
	mux.HandleFunc("GET /v1/roles/{name}", s.authed(s.handleGetRole))
	mux.HandleFunc("GET /v1/projects", s.authed(s.handleListProjects))
	mux.HandleFunc("POST /v1/projects", s.authed(s.handleCreateProject))
	mux.HandleFunc("GET /v1/projects/{name}", s.authed(s.handleGetProject))
	mux.HandleFunc("DELETE /v1/projects/{name}", s.authed(s.handleDeleteProject))
	mux.HandleFunc("POST /v1/projects/{name}/namespaces", s.authed(s.handleAddNamespace))
	mux.HandleFunc("DELETE /v1/projects/{name}/namespaces/{namespace}", s.authed(s.handleRemoveNamespace))
	mux.HandleFunc("GET /v1/members", s.authed(s.handleListMembers))
	mux.HandleFunc("POST /v1/members", s.authed(s.handleAddMember))
	mux.HandleFunc("DELETE /v1/members/{name}", s.authed(s.handleRemoveMember))

	mux.HandleFunc("GET /v1/auth/providers", s.handleListProviders)
	mux.HandleFunc("GET /v1/auth/providers/{type}", s.authed(s.handleGetProvider))
	mux.HandleFunc("PUT /v1/auth/providers/{type}", s.authed(s.handleUpdateProvider))
	mux.HandleFunc("POST /v1/auth/login/{type}", s.handleRedirectLogin)
	mux.HandleFunc("GET /v1/auth/callback/{type}", s.handleRedirectCallback)
	mux.HandleFunc("POST /v1/auth/tickets", s.handleRedeemTicket)
	mux.HandleFunc("GET /v1/principals", s.authed(s.handleSearchPrincipals))
	mux.HandleFunc("POST /v1/users/{username}/refresh", s.authed(s.handleRefreshUser))

	mux.HandleFunc("GET /v1/import/{file}", s.handleImportManifest)
	mux.HandleFunc("POST /v1/agent/register", s.handleAgentRegister)
	mux.Handle("GET /v1/connect", s.clusters.Tunnel())
	mux.Handle(authproxy.Prefix, s.proxy)
	return s.withDeadlines(s.audited(mux))
}

// withDeadlines sets read and write deadlines (RequestReadTimeout,
// RequestWriteTimeout) on every request except the streaming ones: the
// proxy (watches, exec, logs -f) and the agent tunnel. A client that sends
// its body or reads the answer slower than that is cut off, so slow
// clients cannot hold connections and goroutines without end.
func (s *Server) withDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, authproxy.Prefix) && r.URL.Path != "/v1/connect" {
			rc := http.NewResponseController(w)
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(s.cfg.RequestReadTimeout))
			_ = rc.SetWriteDeadline(now.Add(s.cfg.RequestWriteTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// handleCACerts serves the CA bundle that clients pin, unauthenticated, with
// its sha256 checksum in a header.
func (s *Server) handleCACerts(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set(caChecksumHeader, Checksum(s.caBundle))
	_, _ = w.Write(s.caBundle)
}

// handleReadyz answers 200 while the management cluster answers its /readyz.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() || s.managementReady(r) != nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) managementReady(r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := s.kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		s.cfg.Logger.Warn("management cluster not ready", "err", err)
	}
	return err
}
