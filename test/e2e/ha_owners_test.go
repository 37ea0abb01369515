package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/store"
)

// ownerSample is every cluster's status.owner at one time.
type ownerSample struct {
	at     time.Time
	owners map[string]string
}

type ownerSampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []ownerSample
}

// startOwnerSampler reads the clusters' owners from the management
// cluster every 100 ms (uncached) until stop.
func startOwnerSampler(t *testing.T, names []string) *ownerSampler {
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	ctrllog.SetLogger(logr.Discard())
	cfg := restConfig(t, clusters.Get("mgmt").KubeconfigPath())
	cfg.QPS, cfg.Burst = 100, 100
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &ownerSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			sample := ownerSample{at: time.Now(), owners: map[string]string{}}
			var list v1.ClusterList
			if err := c.List(ctx, &list); err == nil {
				for _, cl := range list.Items {
					if slices.Contains(names, cl.Name) {
						sample.owners[cl.Name] = cl.Status.Owner
					}
				}
			}
			s.mu.Lock()
			s.samples = append(s.samples, sample)
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *ownerSampler) stop() []ownerSample {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// checkOwners: after the first 5 s, no cluster goes more than 5 s without
// an owner that runs (an owner killed counts as none).
func checkOwners(t *testing.T, samples []ownerSample, replicas map[string]*haReplica, names []string, killed time.Time) {
	t.Helper()
	if len(samples) < 100 {
		t.Fatalf("only %d owner samples", len(samples))
	}
	settle := samples[0].at.Add(5 * time.Second)
	for _, name := range names {
		var gapStart time.Time
		var longest time.Duration
		changes := 0
		prev := ""
		for _, s := range samples {
			if s.at.Before(settle) {
				continue
			}
			owner := s.owners[name]
			if r := replicas[owner]; r == nil || !r.alive(s.at) {
				owner = ""
			}
			if owner != prev {
				changes++
				prev = owner
			}
			switch {
			case owner == "" && gapStart.IsZero():
				gapStart = s.at
			case owner != "" && !gapStart.IsZero():
				longest = max(longest, s.at.Sub(gapStart))
				gapStart = time.Time{}
			}
		}
		if !gapStart.IsZero() {
			longest = max(longest, samples[len(samples)-1].at.Sub(gapStart))
		}
		t.Logf("cluster %s: %d samples every 100 ms, %d owner changes, longest time without a running owner %v (a replica was killed at +%v)",
			name, len(samples), changes, longest.Round(time.Millisecond), killed.Sub(samples[0].at).Round(time.Millisecond))
		if longest > 5*time.Second {
			t.Errorf("cluster %s had no running owner for %v, want at most 5s", name, longest)
		}
	}
}

// controllerSpan is when one replica ran a cluster's controllers.
type controllerSpan struct {
	replica    string
	start, end time.Time
}

// checkNeverTwo reads from the replicas' logs when each ran each
// cluster's controllers and fails if two spans of one cluster overlap.
func checkNeverTwo(t *testing.T, replicas []*haReplica, names []string) {
	t.Helper()
	for _, name := range names {
		var spans []controllerSpan
		for _, r := range replicas {
			spans = append(spans, r.controllerSpans(name)...)
		}
		slices.SortFunc(spans, func(a, b controllerSpan) int { return a.start.Compare(b.start) })
		for i := 1; i < len(spans); i++ {
			if prev := spans[i-1]; spans[i].start.Before(prev.end) {
				t.Errorf("cluster %s: controllers ran on %s (%s to %s) and on %s (from %s) at once", name,
					prev.replica, prev.start.Format(time.StampMilli), prev.end.Format(time.StampMilli), spans[i].replica,
					spans[i].start.Format(time.StampMilli))
			}
		}
		if len(spans) < 2 {
			t.Errorf("cluster %s: controllers ran %d times, want at least two owners over the test", name, len(spans))
		}
		t.Logf("cluster %s: controllers ran in %d spans, none overlapping", name, len(spans))
	}
}

func (r *haReplica) controllerSpans(cluster string) []controllerSpan {
	var spans []controllerSpan
	var open *controllerSpan
	events := append(r.logEvents("cluster controllers started"), r.logEvents("cluster controllers stopped")...)
	slices.SortFunc(events, func(a, b map[string]any) int { return strings.Compare(a["time"].(string), b["time"].(string)) })
	for _, ev := range events {
		if ev["cluster"] != cluster {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		if err != nil {
			continue
		}
		if ev["msg"] == "cluster controllers started" {
			open = &controllerSpan{replica: r.id, start: at}
		} else if open != nil {
			open.end = at
			spans = append(spans, *open)
			open = nil
		}
	}
	if open != nil {
		r.mu.Lock()
		open.end = r.ended
		r.mu.Unlock()
		if open.end.IsZero() {
			open.end = time.Now()
		}
		spans = append(spans, *open)
	}
	return spans
}
