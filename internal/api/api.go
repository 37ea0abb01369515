// Package api is Herd's REST API (/v1/...): thin handlers that decode a
// request, check it with authz, call an operation of identity or clusters,
// and map the outcome to a status in one place (see respond.go); the
// health and CA endpoints; the audit of every write; and the limits on
// requests (deadlines, login rate limits and the password check gate).
package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/members"
	"herd.dev/herd/internal/terminal"
	"herd.dev/herd/internal/users"
)

// Config configures the API. Zero values are documented per field.
type Config struct {
	// Client writes to the management cluster; Cache reads its informer
	// cache; API reads it uncached (Secrets). Required.
	Client client.Client
	Cache  client.Reader
	API    client.Reader
	// Authn, Authz, Directory and Clusters do the work. Required.
	Authn     *authn.Authenticator
	Authz     *authz.Authorizer
	Directory *identity.Directory
	Clusters  *clusters.Manager
	// Downstream is a client of a connected downstream cluster, for the
	// namespaces of projects. Nil: Clusters.Kube, through the tunnel.
	Downstream func(ctx context.Context, cluster string) (kubernetes.Interface, error)
	// Providers build identity providers by type (to check a
	// configuration before it is stored). Nil: none.
	Providers map[string]authn.ProviderFactory

	// ServerURL is the server's public URL (--server-url). Empty: the
	// host a client used, except for browser logins, which need it.
	ServerURL string
	// AgentImage is the agent image in import manifests (--agent-image).
	AgentImage string
	// KubernetesVersions are the versions a provisioned cluster may have.
	KubernetesVersions []string
	// HostedKubernetesVersions are those a hosted cluster may have (the
	// local provider runs one). Empty: KubernetesVersions.
	HostedKubernetesVersions []string
	// CABundle is what clients pin (served at /cacerts); EmbedCA says
	// whether kubeconfigs carry it (false for a CA the system trusts).
	CABundle []byte
	EmbedCA  bool
	// KeyPin is curl's --pinnedpubkey of a generated serving key; empty
	// with a certificate of the user's.
	KeyPin string
	// Ready reports whether the server serves; ManagementReady whether the
	// management cluster answers. Required.
	Ready           func() bool
	ManagementReady func(context.Context) error

	// LoginFailureLimit failures per username per LoginFailureWindow (a
	// source address four times as many) answer 429. Zero: 5 a minute.
	LoginFailureLimit  int
	LoginFailureWindow time.Duration
	// MaxConcurrentLogins password checks run at once. Zero: 1.
	MaxConcurrentLogins int
	// MaxLoginFlows bounds the browser logins under way. Zero: 1000.
	MaxLoginFlows int
	// MaxTokensPerUser is the token quota, for its message. Zero: 100.
	MaxTokensPerUser int
	// RequestReadTimeout and RequestWriteTimeout bound requests that do
	// not stream. Zero: 30 s and one minute.
	RequestReadTimeout, RequestWriteTimeout time.Duration
	// Metrics serves GET /metrics (Prometheus) to callers with the global
	// right to get metrics. Nil: no /metrics.
	Metrics http.Handler
	// Terminal serves the web console's kubectl terminals, whose kubectl
	// reaches clusters at SelfURL (this server, on an address it listens
	// on), checking the certificate for SelfServerName (empty: SelfURL's
	// host). Nil: no terminal.
	Terminal       *terminal.Terminal
	SelfURL        string
	SelfServerName string
	// Recordings reads exec session recordings. Nil: none.
	Recordings interface {
		Open(ctx context.Context, name string) (io.Reader, error)
	}

	// Logger and Audit receive the log and the audit lines. Nil: discard.
	Logger, Audit *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// API serves /v1 and the unauthenticated endpoints.
type API struct {
	cfg      Config
	log      *slog.Logger
	audit    *slog.Logger
	client   client.Client
	cache    client.Reader
	api      client.Reader
	authn    *authn.Authenticator
	authz    *authz.Authorizer
	dir      *identity.Directory
	clusters *clusters.Manager
	reg      *clusters.Registrar
	members  *members.Members
	users    *users.Users
	now      func() time.Time

	machines *machines.Machines
	byUser   *authn.LoginLimiter
	byAddr   *authn.LoginLimiter
	byFlow   *authn.LoginLimiter // browser logins started per source address
	// byRegister counts failed agent and machine registrations per source.
	byRegister *authn.LoginLimiter
	logins     *gate // local password checks
	extLogins  *gate // identity provider logins

	once    sync.Once
	handler http.Handler
}

// New checks cfg and returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Client == nil || cfg.Cache == nil || cfg.API == nil || cfg.Authn == nil || cfg.Authz == nil || cfg.Directory == nil ||
		cfg.Clusters == nil || cfg.Ready == nil || cfg.ManagementReady == nil {
		return nil, errors.New("api: Client, Cache, API, Authn, Authz, Directory, Clusters, Ready and ManagementReady are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Downstream == nil {
		cfg.Downstream = cfg.Clusters.Kube
	}
	cfg.LoginFailureLimit = cmp(cfg.LoginFailureLimit, 5)
	if cfg.LoginFailureWindow == 0 {
		cfg.LoginFailureWindow = time.Minute
	}
	cfg.MaxConcurrentLogins = cmp(cfg.MaxConcurrentLogins, 1)
	cfg.MaxLoginFlows = cmp(cfg.MaxLoginFlows, 1000)
	cfg.MaxTokensPerUser = cmp(cfg.MaxTokensPerUser, 100)
	if cfg.RequestReadTimeout == 0 {
		cfg.RequestReadTimeout = 30 * time.Second
	}
	if cfg.RequestWriteTimeout == 0 {
		cfg.RequestWriteTimeout = time.Minute
	}
	a := &API{cfg: cfg, log: cfg.Logger, audit: cfg.Audit, client: cfg.Client, cache: cfg.Cache, api: cfg.API,
		authn: cfg.Authn, authz: cfg.Authz, dir: cfg.Directory, clusters: cfg.Clusters, reg: cfg.Clusters.Registrar(), now: cfg.Now}
	var err error
	a.members, err = members.New(members.Config{Client: cfg.Client, Cache: cfg.Cache, Authz: cfg.Authz,
		LookupUser: cfg.Directory.LookupUser, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	a.users, err = users.New(users.Config{Client: cfg.Client, Cache: cfg.Cache, API: cfg.API, Authz: cfg.Authz,
		Directory: cfg.Directory, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a.machines, err = machines.New(machines.Config{Client: cfg.Client, Cache: cfg.Cache, API: cfg.API,
		VerifyRegistrationToken: a.reg.VerifyRegistrationToken, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a.byUser = authn.NewLoginLimiter(cfg.LoginFailureLimit, cfg.LoginFailureWindow, a.now)
	a.byAddr = authn.NewLoginLimiter(4*cfg.LoginFailureLimit, cfg.LoginFailureWindow, a.now)
	a.byFlow = authn.NewLoginLimiter(30, time.Minute, a.now)
	a.byRegister = authn.NewLoginLimiter(registerFailureLimit, registerFailureWindow, a.now)
	// A login waits up to a second for a check, behind at most four others
	// per slot: a flood past that is answered 503 as it arrives.
	a.logins = newGate(cfg.MaxConcurrentLogins, 4*cfg.MaxConcurrentLogins, time.Second)
	a.extLogins = newGate(8*cfg.MaxConcurrentLogins, 32*cfg.MaxConcurrentLogins, time.Second)
	return a, nil
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

var _ http.Handler = (*API)(nil)

// The handlers, by concept; each shares the API's helpers and parts.
type (
	usersAPI    struct{ *API } // users, their passwords and state
	tokensAPI   struct{ *API } // a user's tokens
	loginAPI    struct{ *API } // logins, browser logins, identity providers, principals
	clustersAPI struct{ *API } // clusters, their import and registration, kubeconfigs
	projectsAPI struct{ *API } // projects and their namespaces
	membersAPI  struct{ *API } // cluster and project members
	rolesAPI    struct{ *API } // role templates
)
