// Package clusters is Herd's side of its downstream clusters: registration
// (registration tokens, agent tokens, the verified credential each cluster
// registered), the tunnel sessions of their agents and the connection state
// and liveness they make, the per-cluster controllers that run on the
// replica holding a cluster's tunnel, the cache of how to reach each
// cluster, and what deleting a cluster ends.
package clusters

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/tunnel"
)

// Config configures a Manager. Zero values are documented per field.
type Config struct {
	// Context ends when the server stops; cluster controllers run under
	// it. Required.
	Context context.Context
	// Client writes to the management cluster. Required.
	Client client.Client
	// Cache reads from the informer cache (with package index's indexes).
	// Required.
	Cache client.Reader
	// API reads Secrets, uncached. Required.
	API client.Reader
	// Authz says who administers a cluster (for its token copies). Required.
	Authz *authz.Authorizer
	// IsLeader reports whether this replica leads (it marks lost agents).
	// Nil: never.
	IsLeader func() bool
	// Replicas says which replica owns each cluster. Nil: this replica
	// owns every cluster (a single replica), and no owner is recorded.
	Replicas Replicas
	// Peering links this replica to the others, to reach clusters whose
	// tunnels they hold. Nil: no peers.
	Peering *Peering
	// RegistrationTokenTTL is the lifetime of registration tokens. Zero: 24 h.
	RegistrationTokenTTL time.Duration
	// KeepAlive is the tunnel's ping interval. Zero: the tunnel's default.
	KeepAlive time.Duration
	// Logger and Audit receive the log and the audit lines. Nil: discard.
	Logger, Audit *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Manager holds the downstream clusters of this replica.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	audit  *slog.Logger
	client client.Client
	cache  client.Reader
	api    client.Reader
	now    func() time.Time
	tunnel *tunnel.Server
	// nodeTunnel holds node agents' fallback tunnels.
	nodeTunnel *tunnel.Server
	reg        *Registrar

	targets sync.Map // session key -> *Downstream
	// unverified holds the clusters whose registration change could not
	// be checked yet (no tunnel to its endpoint): checked again when a
	// tunnel of the cluster comes.
	unverified sync.Map
	// connectedMu serializes writes of one cluster's Connected condition
	// (striped by name: writes of different clusters run in parallel).
	connectedMu [64]sync.Mutex
	runtimes    runtimes
	// cleaning holds the session keys of deleted clusters being cleaned up.
	cleaning sync.Map
	// queue holds the clusters whose owner and controllers to check.
	queue workqueue.TypedDelayingInterface[string]
	// connQueue holds the clusters whose connection state to write.
	connQueue workqueue.TypedRateLimitingInterface[string]
	// peers reaches the tunnels other replicas hold; nil without Peering.
	peers *tunnel.Peers
	// fenceCtx is cancelled by Fence; controllers run under it.
	fenceMu     sync.Mutex
	fenceCtx    context.Context
	fenceCancel context.CancelFunc
}

// New checks cfg and returns a Manager with its tunnel server.
func New(cfg Config) (*Manager, error) {
	if cfg.Context == nil || cfg.Client == nil || cfg.Cache == nil || cfg.API == nil || cfg.Authz == nil {
		return nil, errors.New("clusters: Context, Client, Cache, API and Authz are required")
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
	if cfg.IsLeader == nil {
		cfg.IsLeader = func() bool { return false }
	}
	if cfg.RegistrationTokenTTL == 0 {
		cfg.RegistrationTokenTTL = 24 * time.Hour
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, audit: cfg.Audit, client: cfg.Client, cache: cfg.Cache, api: cfg.API, now: cfg.Now}
	m.reg = &Registrar{client: cfg.Client, cache: cfg.Cache, api: cfg.API, log: cfg.Logger, audit: cfg.Audit, now: cfg.Now,
		ttl: cfg.RegistrationTokenTTL, onChange: m.registrationChanged, disconnect: func(key string) { m.tunnel.Disconnect(key) }}
	if err := m.newTunnel(); err != nil {
		return nil, err
	}
	if err := m.newNodeTunnel(); err != nil {
		return nil, err
	}
	m.queue = newQueue()
	m.connQueue = newConnQueue()
	if cfg.Peering != nil {
		if err := m.newPeers(*cfg.Peering); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registrar registers the clusters' agents.
func (m *Manager) Registrar() *Registrar { return m.reg }

// Tunnel is the server end of the agents' tunnels (GET /v1/connect).
func (m *Manager) Tunnel() *tunnel.Server { return m.tunnel }

// await waits for the cache to see a write (store.Await).
func (m *Manager) await(ctx context.Context, obj client.Object, gone bool) {
	store.Await(ctx, m.cache, obj, gone, m.log)
}
