package clusters

import (
	"context"
	"encoding/json"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// Replicas says which replica owns each cluster (package membership).
type Replicas interface {
	// ID names this replica.
	ID() string
	// Healthy reports whether this replica may act as an owner (its own
	// Lease is current, and it is not leaving).
	Healthy() bool
	// Leaving reports whether this replica is stopping: it hands its
	// clusters over.
	Leaving() bool
	// Live reports whether a replica is ready.
	Live(id string) bool
	// Gone reports, reading it afresh, that a replica is not ready.
	Gone(ctx context.Context, id string) bool
	// Owner is the ready replica that should own the cluster.
	Owner(cluster string) string
}

// resyncEvery re-checks every cluster's owner and controllers, besides
// the events that do.
const resyncEvery = 5 * time.Second

// stopWait bounds the wait for a cluster's controllers to stop before
// its ownership is handed over.
const stopWait = 10 * time.Second

// Resync asks for every cluster's owner and controllers to be checked
// again (the replicas changed).
func (m *Manager) Resync() {
	var list v1.ClusterList
	if err := m.cache.List(m.cfg.Context, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		return
	}
	for _, c := range list.Items {
		m.queue.Add(c.Name)
	}
}

// RunOwnership keeps, until ctx ends, each cluster's controllers running
// on its owner only. Then it hands this replica's clusters over to the
// others (Replicas.Owner no longer names this replica once it leaves).
func (m *Manager) RunOwnership(ctx context.Context) error {
	context.AfterFunc(ctx, m.queue.ShutDown)
	go func() {
		t := time.NewTicker(resyncEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.Resync()
			}
		}
	}()
	m.Resync()
	for {
		name, shutdown := m.queue.Get()
		if shutdown {
			return nil
		}
		m.syncRuntime(ctx, name)
		m.queue.Done(name)
	}
}

// HandOver stops this replica's cluster controllers and names the next
// owner of each cluster it owned, for a replica that is leaving (after
// Replicas stopped counting it).
func (m *Manager) HandOver(ctx context.Context) {
	var list v1.ClusterList
	if err := m.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		return
	}
	for _, c := range list.Items {
		if ctx.Err() != nil {
			m.log.Warn("hand-over cut short: the others take the rest once this replica's Lease is gone", "err", ctx.Err())
			return
		}
		if m.cfg.Replicas != nil && c.Status.Owner == m.cfg.Replicas.ID() {
			m.syncRuntime(ctx, c.Name)
		}
	}
}

// syncOwner brings the Cluster's owner to the one Replicas wants and
// reports whether this replica owns it now. The owner changes only from
// the name read (a JSON patch test), so no two replicas both take a
// cluster; a replica hands a cluster over only once its controllers have
// stopped (stop), and takes one from a replica that is not ready only
// after that one's Lease has expired, which is after that one stopped
// counting itself healthy.
func (m *Manager) syncOwner(ctx context.Context, c *v1.Cluster, stop func()) bool {
	r := m.cfg.Replicas
	if r == nil {
		return true
	}
	self, cur := r.ID(), c.Status.Owner
	if !r.Healthy() && !r.Leaving() {
		return false // cannot renew its Lease: acts as no owner, writes nothing
	}
	want := r.Owner(c.Name)
	switch {
	case want == self && cur == self:
		return true
	case cur == self && want == "" && r.Leaving():
		// The last replica stops: nobody to hand to. The owner stays
		// written; the next replica takes the cluster once this one's
		// Lease is gone, without a write per cluster now.
		stop()
		return false
	case cur == self:
		stop()
		m.setOwner(ctx, c, cur, want)
		return false
	case want == self && (cur == "" || r.Gone(ctx, cur)):
		return m.setOwner(ctx, c, cur, self) == nil
	}
	return false
}

// confirmOwner reads the Cluster uncached before its controllers start
// here: a cache that lags (after this replica could not reach the
// management cluster for a while) may still name this replica when
// another has taken the cluster since.
func (m *Manager) confirmOwner(ctx context.Context, c *v1.Cluster) bool {
	if m.cfg.Replicas == nil {
		return true
	}
	var fresh v1.Cluster
	if err := m.api.Get(ctx, client.ObjectKeyFromObject(c), &fresh); err != nil {
		return false
	}
	if fresh.Status.Owner != m.cfg.Replicas.ID() || fresh.UID != c.UID {
		m.queue.AddAfter(c.Name, time.Second)
		return false
	}
	return true
}

// setOwner changes the cluster's owner from one replica (none: "") to
// another, failing if another writer changed it first.
func (m *Manager) setOwner(ctx context.Context, c *v1.Cluster, from, to string) error {
	var patch client.Patch
	if from == "" {
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": c.ResourceVersion},
			"status": map[string]any{"owner": to}})
		patch = client.RawPatch(types.MergePatchType, body)
	} else {
		ops := []map[string]any{{"op": "test", "path": "/status/owner", "value": from}, {"op": "replace", "path": "/status/owner", "value": to}}
		if to == "" {
			ops[1] = map[string]any{"op": "remove", "path": "/status/owner"}
		}
		body, _ := json.Marshal(ops)
		patch = client.RawPatch(types.JSONPatchType, body)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.client.Status().Patch(pctx, c, patch); err != nil {
		m.log.Info("cluster ownership not changed: another replica changed it first or the write failed", "cluster", c.Name,
			"from", from, "to", to, "err", err)
		m.queue.AddAfter(c.Name, time.Second)
		return err
	}
	m.log.Info("cluster ownership changed", "cluster", c.Name, "from", from, "to", to)
	return nil
}

// Fence stops every cluster's controllers at once, without waiting: for a
// replica that cannot renew its Lease, which must stop acting as an owner
// before the others see it expire. syncRuntime starts them again when
// the replica is healthy and still the owner.
func (m *Manager) Fence() {
	m.fenceMu.Lock()
	defer m.fenceMu.Unlock()
	if m.fenceCancel != nil {
		m.fenceCancel()
	}
	m.fenceCtx, m.fenceCancel = context.WithCancel(m.cfg.Context)
}

// fence is the context that cluster controllers run under.
func (m *Manager) fence() context.Context {
	m.fenceMu.Lock()
	defer m.fenceMu.Unlock()
	if m.fenceCtx == nil {
		m.fenceCtx, m.fenceCancel = context.WithCancel(m.cfg.Context)
	}
	return m.fenceCtx
}

func newQueue() workqueue.TypedDelayingInterface[string] {
	return workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: ""})
}
