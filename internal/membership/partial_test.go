package membership

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// clock is a settable time for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// lease is another replica's Lease, renewed at now.
func lease(id string, now time.Time, unlinked string) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: LeaseName(id), Namespace: "herd",
		Labels:      map[string]string{LabelReplica: "true", LabelReplica + "-id": id},
		Annotations: map[string]string{AnnotationPeerAddress: "127.0.0.1:1"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(id + "_x"), LeaseDurationSeconds: ptr.To[int32](4),
			RenewTime: &metav1.MicroTime{Time: now}}}
	if unlinked != "" {
		l.Annotations[AnnotationUnlinked] = unlinked
	}
	return l
}

// TestPartialReplica: a replica that misses a peer link for PartialAfter
// says so in its Lease and stops being an owner while a replica linked to
// every other is ready; a partial peer owns nothing either; when every
// ready replica is partial, ownership is split over all of them.
func TestPartialReplica(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	kube := fake.NewClientset()
	var mu sync.Mutex
	var unlinked []string
	m, err := New(Config{Kube: kube, Namespace: "herd", ID: "b", PeerAddress: "127.0.0.1:2", Now: clk.Now,
		Unlinked: func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(unlinked) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	m.observe(lease("a", clk.Now(), ""), false)
	m.observe(lease("c", clk.Now(), "a"), false) // c misses its link to a
	owners := func() map[string]int {
		got := map[string]int{}
		for i := range 300 {
			got[m.Owner("cluster-"+string(rune('a'+i%26))+string(rune('a'+i/26)))]++
		}
		return got
	}
	if got := owners(); got["c"] != 0 || got["a"] == 0 || got["b"] == 0 {
		t.Fatalf("owners with c partial: %v, want a and b only", got)
	}

	// b misses a for less than PartialAfter: still an owner.
	mu.Lock()
	unlinked = []string{"a"}
	mu.Unlock()
	m.renew(ctx)
	clk.add(PartialAfter / 2)
	m.renew(ctx)
	if l, _ := kube.CoordinationV1().Leases("herd").Get(ctx, LeaseName("b"), metav1.GetOptions{}); l.Annotations[AnnotationUnlinked] != "" {
		t.Fatalf("b's Lease says partial after %v: %v", PartialAfter/2, l.Annotations)
	}
	clk.add(PartialAfter / 2)
	m.observe(lease("a", clk.Now(), ""), false)
	m.observe(lease("c", clk.Now(), "a"), false)
	m.renew(ctx)
	if l, _ := kube.CoordinationV1().Leases("herd").Get(ctx, LeaseName("b"), metav1.GetOptions{}); l.Annotations[AnnotationUnlinked] != "a" {
		t.Fatalf("b's Lease after missing a for %v: annotations %v, want %s=a", PartialAfter, l.Annotations, AnnotationUnlinked)
	}
	if got := owners(); got["a"] != 300 {
		t.Fatalf("owners with b and c partial: %v, want a only", got)
	}

	// Every ready replica partial: all of them own.
	m.observe(lease("a", clk.Now(), "b"), false)
	if got := owners(); len(got) != 3 || got[""] != 0 {
		t.Fatalf("owners with every replica partial: %v, want a, b and c", got)
	}

	// b linked again: its Lease says so at the next renewal.
	mu.Lock()
	unlinked = nil
	mu.Unlock()
	m.renew(ctx)
	if l, _ := kube.CoordinationV1().Leases("herd").Get(ctx, LeaseName("b"), metav1.GetOptions{}); l.Annotations[AnnotationUnlinked] != "" {
		t.Fatalf("b's Lease once linked again: %v", l.Annotations)
	}
	if got := owners(); got["a"] != 0 || got["c"] != 0 || got["b"] != 300 {
		t.Fatalf("owners with a and c partial: %v, want b only", got)
	}
}
