// Package identity is who Herd's users are, beside internal/authn (which
// checks credentials): local users and the users of identity providers,
// the providers built from their AuthConfigs, users' groups and their
// refresh, the records of browser logins, the bootstrap administrator, and
// the tokens a user holds (with their quota).
package identity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// Config configures a Directory. Zero values are documented per field.
type Config struct {
	// Client writes to the management cluster. Required.
	Client client.Client
	// Cache reads Users, Tokens, GlobalRoles and AuthConfigs from the
	// informer cache (with package index's indexes). Required.
	Cache client.Reader
	// API reads Secrets, uncached. Required.
	API client.Reader
	// Providers build identity providers by AuthConfig type. Nil: none
	// but local users.
	Providers map[string]authn.ProviderFactory
	// TokenTTLs are token lifetimes (see authn.TTLs).
	TokenTTLs authn.TTLs
	// MaxTokensPerUser bounds a user's live tokens. Zero: 100.
	MaxTokensPerUser int
	// GroupRefresh is how often RefreshGroups reads users' groups again.
	// Zero: one hour.
	GroupRefresh time.Duration
	// BootstrapPassword, BootstrapOut and DataDir: see EnsureAdmin.
	BootstrapPassword string
	BootstrapOut      io.Writer
	DataDir           string
	// Logger and Audit receive the log and the audit lines. Nil: discard.
	Logger, Audit *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Directory holds Herd's users.
type Directory struct {
	cfg    Config
	log    *slog.Logger
	audit  *slog.Logger
	client client.Client
	cache  client.Reader
	api    client.Reader
	local  *authn.Local

	providers providerCache
	// refreshing holds a mutex per user whose groups are being refreshed.
	refreshing sync.Map
	// tokenLocks serialize token issuance per user (the quota).
	tokenLocks tokenLocks
}

// New checks cfg and returns a Directory.
func New(cfg Config) (*Directory, error) {
	if cfg.Client == nil || cfg.Cache == nil || cfg.API == nil {
		return nil, errors.New("identity: Client, Cache and API are required")
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
	if cfg.MaxTokensPerUser == 0 {
		cfg.MaxTokensPerUser = 100
	}
	if cfg.GroupRefresh == 0 {
		cfg.GroupRefresh = time.Hour
	}
	if cfg.BootstrapOut == nil {
		cfg.BootstrapOut = io.Discard
	}
	return &Directory{cfg: cfg, log: cfg.Logger, audit: cfg.Audit, client: cfg.Client, cache: cfg.Cache, api: cfg.API,
		local: &authn.Local{Users: cfg.Cache, Secrets: cfg.API, Namespace: wellknown.Namespace}}, nil
}

func (d *Directory) now() time.Time { return d.cfg.Now() }

// await waits for the cache to see a write (store.Await).
func (d *Directory) await(ctx context.Context, obj client.Object, gone bool) {
	store.Await(ctx, d.cache, obj, gone, d.log)
}
