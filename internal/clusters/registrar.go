package clusters

import (
	"context"
	"log/slog"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/store"
)

// Registrar registers downstream clusters: the registration tokens of
// their import commands, the agent tokens agents get for them, and the
// verified credential each cluster's agent registered. A Manager makes
// one (Manager.Registrar).
type Registrar struct {
	client client.Client
	cache  client.Reader
	api    client.Reader
	log    *slog.Logger
	audit  *slog.Logger
	now    func() time.Time
	ttl    time.Duration // of registration tokens
	// onChange runs when a cluster's registered endpoint or credential
	// changed and waits to be verified.
	onChange func(*v1.Cluster)
	// disconnect closes the tunnel sessions of a session key.
	disconnect func(key string)
}

// await waits for the cache to see a write (store.Await).
func (rs *Registrar) await(ctx context.Context, obj client.Object, gone bool) {
	store.Await(ctx, rs.cache, obj, gone, rs.log)
}
