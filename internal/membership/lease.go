package membership

import (
	"context"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// holder is what this process writes as the Lease's holder.
func (m *Membership) holder() string { return m.cfg.ID + "_" + m.nonce }

func (m *Membership) leases() leaseClient {
	return m.cfg.Kube.CoordinationV1().Leases(m.cfg.Namespace)
}

type leaseClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// acquire creates this replica's Lease, or takes it over once an earlier
// process of the same ID has stopped renewing it (a restart); a process
// still renewing it keeps it, and this one waits.
func (m *Membership) acquire(ctx context.Context) error {
	name := LeaseName(m.cfg.ID)
	var lastRenew time.Time
	unchangedSince := m.cfg.Now()
	warned := false
	for {
		start := m.cfg.Now()
		l, err := m.leases().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.cfg.Namespace}}
			m.fill(l, start)
			if l, err = m.leases().Create(ctx, l, metav1.CreateOptions{}); err == nil {
				m.renewedAt(start)
				return nil
			}
		case err == nil:
			renew := time.Time{}
			if l.Spec.RenewTime != nil {
				renew = l.Spec.RenewTime.Time
			}
			if !renew.Equal(lastRenew) {
				lastRenew, unchangedSince = renew, m.cfg.Now()
			}
			// Timed on this host's clock only: another host's may be off.
			expired := m.cfg.Now().Sub(unchangedSince) > m.cfg.LeaseDuration
			if expired || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == m.holder() {
				m.fill(l, start)
				if _, err = m.leases().Update(ctx, l, metav1.UpdateOptions{}); err == nil {
					m.renewedAt(start)
					return nil
				}
			} else if !warned {
				m.log.Warn("another process holds this replica's lease; waiting until it stops renewing it (give each replica its own --replica-id)",
					"lease", name, "holder", *l.Spec.HolderIdentity)
				warned = true
			}
		}
		if err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			m.log.Warn("failed to acquire the replica lease", "lease", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(m.cfg.LeaseDuration / 4):
		}
	}
}

// fill writes this replica's identity and a renewal at now into l.
func (m *Membership) fill(l *coordinationv1.Lease, now time.Time) {
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Labels[LabelReplica], l.Labels[LabelReplica+"-id"] = "true", m.cfg.ID
	l.Annotations[AnnotationPeerAddress] = m.cfg.PeerAddress
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != m.holder() {
		l.Spec.AcquireTime = &metav1.MicroTime{Time: now}
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
	}
	l.Spec.HolderIdentity = ptr.To(m.holder())
	l.Spec.LeaseDurationSeconds = ptr.To(int32((m.cfg.LeaseDuration + time.Second - 1) / time.Second))
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
}

func (m *Membership) renewedAt(t time.Time) {
	m.mu.Lock()
	m.renewed = t
	m.mu.Unlock()
}

// renew writes a fresh renewal time; when the Lease was taken over by
// another process of the same ID, it is taken back only once that one
// stops (acquire).
func (m *Membership) renew(ctx context.Context) {
	if m.acquiring.Load() {
		return
	}
	start := m.cfg.Now()
	rctx, cancel := context.WithTimeout(ctx, m.cfg.LeaseDuration/2)
	defer cancel()
	l, err := m.leases().Get(rctx, LeaseName(m.cfg.ID), metav1.GetOptions{})
	lost := apierrors.IsNotFound(err)
	if err == nil && (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != m.holder()) {
		err, lost = fmt.Errorf("the lease is held by %v", ptr.Deref(l.Spec.HolderIdentity, "nobody")), true
	}
	partial, unlinked := m.partialAt(start)
	if err == nil {
		m.fill(l, start)
		delete(l.Annotations, AnnotationUnlinked)
		if partial {
			l.Annotations[AnnotationUnlinked] = strings.Join(unlinked, ",")
		}
		_, err = m.leases().Update(rctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("failed to renew the replica lease", "err", err)
		}
		if lost && m.acquiring.CompareAndSwap(false, true) {
			// Deleted, or taken by another process of this ID: take it
			// back once that one stops renewing it.
			go func() {
				defer m.acquiring.Store(false)
				_ = m.acquire(ctx)
			}()
		}
		return
	}
	m.renewedAt(start)
	m.setPartial(partial, unlinked)
}

// partialAt reports whether this replica, at now, has missed a peer link
// for PartialAfter, and to which replicas.
func (m *Membership) partialAt(now time.Time) (bool, []string) {
	if m.cfg.Unlinked == nil {
		return false, nil
	}
	unlinked := m.cfg.Unlinked()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case len(unlinked) == 0:
		m.unlinkedSince = time.Time{}
	case m.unlinkedSince.IsZero():
		m.unlinkedSince = now
	}
	return len(unlinked) > 0 && now.Sub(m.unlinkedSince) >= PartialAfter, unlinked
}

// setPartial records what this replica's Lease now says.
func (m *Membership) setPartial(partial bool, unlinked []string) {
	m.mu.Lock()
	was := m.partial
	m.partial = partial
	m.mu.Unlock()
	switch {
	case partial && !was:
		m.log.Warn("this replica has had no peer link to some ready replicas for "+PartialAfter.String()+
			": it leaves cluster ownership to the replicas linked to every other", "unlinked", unlinked)
	case !partial && was:
		m.log.Info("this replica is linked to every ready replica again: it may own clusters")
	}
}

// Leave stops this replica counting itself ready, ahead of stopping: its
// clusters go to the others (the caller hands them over) before Run
// deletes its Lease.
func (m *Membership) Leave() {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	m.report()
}

// Leaving reports whether Leave was called.
func (m *Membership) Leaving() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

// staleAfter is how long a Lease of another replica may go unrenewed
// before this replica deletes it: the Lease of a replica that died
// without deleting its own (IDs with a random suffix never come back).
func (m *Membership) staleAfter() time.Duration { return max(time.Minute, 15*m.cfg.LeaseDuration) }

// collect deletes the Leases of replicas dead for staleAfter; the delete
// is conditional on the Lease not having changed.
func (m *Membership) collect(ctx context.Context, lister func(id string) (*coordinationv1.Lease, bool)) {
	m.mu.Lock()
	var stale []string
	for id, o := range m.seen {
		if m.cfg.Now().Sub(o.changedAt) > m.staleAfter() {
			stale = append(stale, id)
		}
	}
	m.mu.Unlock()
	for _, id := range stale {
		l, ok := lister(id)
		if !ok {
			continue
		}
		err := m.leases().Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &l.UID, ResourceVersion: &l.ResourceVersion}})
		if err == nil {
			m.log.Info("deleted the lease of a replica gone", "lease", l.Name)
		}
	}
}

// release deletes this replica's Lease if this process still holds it.
func (m *Membership) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := m.leases().Get(ctx, LeaseName(m.cfg.ID), metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != m.holder() {
		return
	}
	err = m.leases().Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &l.UID, ResourceVersion: &l.ResourceVersion}})
	if err != nil && !isGone(err) {
		m.log.Warn("failed to delete the replica lease", "err", err)
	}
}
