package server

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"herd.dev/herd/internal/api"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/console"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/terminal"
	"herd.dev/herd/internal/websession"
)

// routes is the server's handler: the proxy, the agents' tunnel, and the
// REST API with everything else.
func (s *Server) routes() (http.Handler, error) {
	term, err := terminal.New(terminal.Config{Kubectl: localcluster.KubectlPath(s.cfg.KubeBinDir), Logger: s.cfg.Logger})
	if err != nil {
		return nil, err
	}
	self, selfName := selfURL(s.listener.Addr(), s.cfg.TLSCert != "", s.cfg.ServerURL)
	rest, err := api.New(api.Config{
		Client: s.client, Cache: s.cache, API: s.api,
		Authn: s.authn, Authz: s.authz, Directory: s.dir, Clusters: s.clusters, Providers: s.cfg.Providers,
		ServerURL: s.cfg.ServerURL, AgentImage: s.cfg.AgentImage, KubernetesVersions: s.kubernetesVersions(), HostedKubernetesVersions: []string{localcluster.KubernetesVersion},
		CABundle: s.caBundle, EmbedCA: s.embedCA(), KeyPin: s.keyPin,
		Ready: s.ready.Load, ManagementReady: s.managementReady,
		LoginFailureLimit: s.cfg.LoginFailureLimit, LoginFailureWindow: s.cfg.LoginFailureWindow,
		MaxConcurrentLogins: s.cfg.MaxConcurrentLogins, MaxLoginFlows: s.cfg.MaxLoginFlows, MaxTokensPerUser: s.cfg.MaxTokensPerUser,
		RequestReadTimeout: s.cfg.RequestReadTimeout, RequestWriteTimeout: s.cfg.RequestWriteTimeout,
		Metrics:  s.metricsHandler(),
		Terminal: term, SelfURL: self, SelfServerName: selfName, Recordings: s.recordings,
		Logger: s.cfg.Logger, Audit: s.audit, Now: s.now,
	})
	if err != nil {
		return nil, err
	}
	ui, err := console.New()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	mux.Handle("GET /v1/connect", s.clusters.Tunnel())
	mux.Handle("GET /v1/node/connect", s.clusters.NodeTunnel())
	mux.Handle(authproxy.Prefix, s.proxy)
	mux.Handle("/", rest)
	// The web console's session cookie stands for a bearer token only
	// from the console's origin, with its CSRF token where needed.
	return websession.Middleware(mux, s.cfg.Logger), nil
}

// managementReady reports whether the management cluster answers its /readyz.
func (s *Server) managementReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		s.cfg.Logger.Warn("management cluster not ready", "err", err)
	}
	return err
}

// selfURL is how the server reaches itself (the web terminal's kubectl
// does): its listener's address, on loopback when it listens on every
// address, and the name to check its certificate for: a generated
// certificate holds the loopback addresses and localhost, a company
// certificate (companyCert) the host of serverURL.
func selfURL(addr net.Addr, companyCert bool, serverURL string) (string, string) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	name := ""
	switch {
	case companyCert:
		if u, err := url.Parse(serverURL); err == nil {
			name = u.Hostname()
		}
	case !net.ParseIP(host).IsLoopback():
		name = "localhost" // a generated certificate's name for any address
	}
	return "https://" + net.JoinHostPort(host, port), name
}
