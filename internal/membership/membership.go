// Package membership makes the replicas of a Herd server one system: each
// replica holds a Lease in the management cluster naming its peer address,
// renews it, and watches the others'. The replicas whose Leases are fresh
// are the ready ones, over which cluster ownership is split by rendezvous
// hashing (Owner).
package membership

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// Lease labels and annotations.
const (
	// LabelReplica marks the Leases of replicas.
	LabelReplica = "herd.dev/replica"
	// AnnotationPeerAddress is the HOST:PORT of the replica's peer listener.
	AnnotationPeerAddress = "herd.dev/peer-address"
	// AnnotationUnlinked names, comma-separated, the ready replicas that a
	// partial replica has had no peer link to for PartialAfter.
	AnnotationUnlinked = "herd.dev/unlinked-peers"
	leasePrefix        = "herd-replica-"
)

// Defaults of the zero values in Config.
const (
	DefaultLeaseDuration = 4 * time.Second
)

// PartialAfter is how long a replica may miss a peer link (a link being
// set up, or dialed again after a failure) before it counts as partial.
const PartialAfter = 10 * time.Second

// ErrConfig prefixes configuration errors.
var ErrConfig = errors.New("membership: invalid configuration")

// Config configures a Membership. Zero values are documented per field.
type Config struct {
	// Kube writes and watches the Leases. Required.
	Kube kubernetes.Interface
	// Namespace holds the Leases. Required.
	Namespace string
	// ID names this replica (--replica-id): a DNS label. Required.
	ID string
	// PeerAddress is where other replicas reach this one's peer listener.
	// Required.
	PeerAddress string
	// LeaseDuration is how long a Lease counts without renewal; it is
	// renewed every quarter of it, and this replica stops counting itself
	// ready when it has not renewed for three quarters. Zero:
	// DefaultLeaseDuration.
	LeaseDuration time.Duration
	// OnChange is told when the ready replicas change (or this replica's
	// own readiness does). It must not block. Nil: none.
	OnChange func()
	// Unlinked lists the ready replicas this one has no peer link to. A
	// replica that has had some for PartialAfter is partial: it says so in
	// its Lease, and Owner gives clusters only to replicas that are not
	// partial while any is ready, since a partial replica may not reach a
	// tunnel that one of those holds. Nil: never partial.
	Unlinked func() []string
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Validate checks the configuration; errors name the flag at fault.
func (c *Config) Validate() error {
	switch {
	case c.Kube == nil || c.Namespace == "":
		return fmt.Errorf("%w: Kube and Namespace are required", ErrConfig)
	case len(validation.IsDNS1123Label(c.ID)) > 0:
		return fmt.Errorf("%w: --replica-id %q must be a DNS label (lower-case letters, digits and '-', at most 63)", ErrConfig, c.ID)
	case c.PeerAddress == "":
		return fmt.Errorf("%w: the peer address is required", ErrConfig)
	case c.LeaseDuration < 0:
		return fmt.Errorf("%w: the replica lease duration must not be negative", ErrConfig)
	}
	return nil
}

// Member is a ready replica.
type Member struct {
	ID, PeerAddress string
	// Partial: it has no peer link to some ready replicas (Config.Unlinked).
	Partial bool
}

// Membership is this replica's Lease and its view of the others.
type Membership struct {
	cfg   Config
	log   *slog.Logger
	nonce string // tells this process's Lease from an earlier one's

	mu       sync.Mutex
	seen     map[string]*observed // other replicas' Leases by ID
	renewed  time.Time            // start of this replica's last successful renewal
	ready    []Member             // last reported ready replicas
	stopping bool
	// unlinkedSince is when this replica began to miss a peer link (zero:
	// it misses none); partial is what its Lease says now.
	unlinkedSince time.Time
	partial       bool
	// acquiring is set while a lost Lease is being taken back.
	acquiring atomic.Bool
}

// observed is another replica's Lease as this one saw it change.
type observed struct {
	peerAddress string
	partial     bool
	holder      string
	renewTime   time.Time // as written
	changedAt   time.Time // local time this replica saw it change
	duration    time.Duration
}

// New checks cfg and returns a Membership that Run starts.
func New(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func() {}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Membership{cfg: cfg, log: cfg.Logger.With("replica", cfg.ID), nonce: hex.EncodeToString(b), seen: map[string]*observed{}}, nil
}

// ID names this replica.
func (m *Membership) ID() string { return m.cfg.ID }

// LeaseName is the name of a replica's Lease.
func LeaseName(id string) string { return leasePrefix + id }

// Run watches the replicas' Leases and keeps this one's renewed until ctx
// ends; then it deletes its Lease, so that the others take over at once.
func (m *Membership) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(m.cfg.Kube, 0, informers.WithNamespace(m.cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelReplica + "=true" }))
	inf := factory.Coordination().V1().Leases().Informer()
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.observe(obj, false) },
		UpdateFunc: func(_, obj any) { m.observe(obj, false) },
		DeleteFunc: func(obj any) { m.observe(obj, true) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	if err := m.acquire(ctx); err != nil {
		return err
	}
	renew := time.NewTicker(m.cfg.LeaseDuration / 4)
	defer renew.Stop()
	gc := time.NewTicker(m.staleAfter() / 4)
	defer gc.Stop()
	lister := func(id string) (*coordinationv1.Lease, bool) {
		obj, ok, err := inf.GetStore().GetByKey(m.cfg.Namespace + "/" + LeaseName(id))
		l, isLease := obj.(*coordinationv1.Lease)
		return l, ok && err == nil && isLease
	}
	check := time.NewTicker(m.cfg.LeaseDuration / 16)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			m.release()
			return nil
		case <-renew.C:
			m.renew(ctx)
		case <-gc.C:
			m.collect(ctx, lister)
		case <-check.C:
		}
		m.report()
	}
}

// observe records a Lease change of another replica.
func (m *Membership) observe(obj any, deleted bool) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	id := l.Labels[LabelReplica+"-id"]
	if id == "" || id == m.cfg.ID {
		return
	}
	m.mu.Lock()
	switch {
	case deleted:
		delete(m.seen, id)
	default:
		o := &observed{peerAddress: l.Annotations[AnnotationPeerAddress], partial: l.Annotations[AnnotationUnlinked] != "",
			changedAt: m.cfg.Now(), duration: m.cfg.LeaseDuration}
		if l.Spec.HolderIdentity != nil {
			o.holder = *l.Spec.HolderIdentity
		}
		if l.Spec.RenewTime != nil {
			o.renewTime = l.Spec.RenewTime.Time
		}
		if l.Spec.LeaseDurationSeconds != nil {
			o.duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		}
		if prev := m.seen[id]; prev != nil && prev.holder == o.holder && prev.renewTime.Equal(o.renewTime) {
			o.changedAt = prev.changedAt // not renewed: still counting down
		}
		m.seen[id] = o
	}
	m.mu.Unlock()
	m.report()
}

// report tells OnChange when the ready set changed.
func (m *Membership) report() {
	ready := m.Ready()
	m.mu.Lock()
	changed := !slices.Equal(ready, m.ready)
	m.ready = ready
	m.mu.Unlock()
	if changed {
		m.log.Info("replicas changed", "ready", ready)
		m.cfg.OnChange()
	}
}

// Healthy reports whether this replica renewed its Lease recently enough
// to count itself ready: a replica that cannot renew must stop acting as
// an owner before the others see its Lease expire.
func (m *Membership) Healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.stopping && !m.renewed.IsZero() && m.cfg.Now().Sub(m.renewed) < m.cfg.LeaseDuration*3/4
}

// Live reports whether id is a ready replica (this one when Healthy).
func (m *Membership) Live(id string) bool {
	if id == m.cfg.ID {
		return m.Healthy()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.seen[id]
	return o != nil && m.fresh(o)
}

// Gone reports whether the replica id is gone, read from its Lease
// itself rather than the watch: a watch that lags must not make this
// replica take clusters from an owner that still renews. A renewal the
// watch missed restarts the count.
func (m *Membership) Gone(ctx context.Context, id string) bool {
	if m.Live(id) {
		return false
	}
	l, err := m.leases().Get(ctx, LeaseName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		return false
	}
	m.observe(l, false)
	return !m.Live(id)
}

// Known reports whether id holds a Lease, fresh or not (a peer link is
// refused from any other).
func (m *Membership) Known(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[id] != nil
}

func (m *Membership) fresh(o *observed) bool {
	return m.cfg.Now().Sub(o.changedAt) < o.duration
}

// Ready lists the ready replicas, sorted by ID.
func (m *Membership) Ready() []Member {
	healthy := m.Healthy()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Member
	if healthy {
		out = append(out, Member{ID: m.cfg.ID, PeerAddress: m.cfg.PeerAddress, Partial: m.partial})
	}
	for id, o := range m.seen {
		if m.fresh(o) {
			out = append(out, Member{ID: id, PeerAddress: o.peerAddress, Partial: o.partial})
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return cmpString(a.ID, b.ID) })
	return out
}

// owners lists the replicas that may own clusters: the ready ones that
// are not partial, or when every ready one is, all of them.
func (m *Membership) owners() []string {
	var all, linked []string
	for _, r := range m.Ready() {
		all = append(all, r.ID)
		if !r.Partial {
			linked = append(linked, r.ID)
		}
	}
	if len(linked) > 0 {
		return linked
	}
	return all
}

// Owner is the replica that should own key (a cluster): of the ready
// replicas that are not partial (or all, when every one is), the one with
// the highest rendezvous score. Empty when no replica is ready.
func (m *Membership) Owner(key string) string {
	return Owner(m.owners(), key)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isGone reports whether err says the object is not there.
func isGone(err error) bool { return apierrors.IsNotFound(err) }
