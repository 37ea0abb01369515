package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

// Scale of BenchmarkBindingPropagation.
const (
	benchClusters = 20
	benchBindings = 50 // per cluster
)

// BenchmarkBindingPropagation measures the time from asking Herd for a
// cluster role binding (POST /v1/members) to its ClusterRoleBinding
// appearing in the downstream cluster, with 20 clusters (east, west and 18
// more local clusters, each with its agent) and 50 bindings each, made by
// 8 concurrent clients. It reports p50 and p99.
func BenchmarkBindingPropagation(b *testing.B) {
	e := newEnv(b, "east")
	all := map[string]*localcluster.Cluster{"east": clusters.Get("east"), "west": clusters.Get("west")}
	for batch := 0; len(all) < benchClusters; batch++ {
		var names []string
		for i := 0; i < 3 && len(all)+len(names) < benchClusters; i++ {
			names = append(names, fmt.Sprintf("scale%02d", batch*3+i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		extra, err := herdtest.StartClusters(ctx, 0, names...)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(extra.Stop)
		for _, n := range names {
			all[n] = extra.Get(n)
		}
	}
	var agents []func()
	b.Cleanup(func() {
		for _, stop := range agents {
			stop()
		}
	})
	for name, lc := range all {
		if name == "east" {
			continue // newEnv's agent
		}
		since := time.Now().Add(-time.Second)
		tok, kc := e.importLocalCluster(b, name, lc)
		cmd, _ := e.agentProcess(b, tok, kc)
		agents = append(agents, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		e.waitAgentSince(b, name, since)
	}
	seen := watchBindings(b, all)
	round := 0
	for b.Loop() {
		lat := e.createBindings(b, all, seen, round)
		round++
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}

// arrivals records when each downstream ClusterRoleBinding appeared, by
// the name of the Herd binding that made it.
type arrivals struct {
	mu   sync.Mutex
	at   map[string]time.Time
	wake chan struct{}
}

func watchBindings(b *testing.B, all map[string]*localcluster.Cluster) *arrivals {
	a := &arrivals{at: map[string]time.Time{}, wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	for _, lc := range all {
		cs, err := kubernetes.NewForConfig(restConfigTB(b, lc.KubeconfigPath()))
		if err != nil {
			b.Fatal(err)
		}
		w, err := cs.RbacV1().ClusterRoleBindings().Watch(ctx, metav1.ListOptions{LabelSelector: "management.herd.dev/source=crtb"})
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for ev := range w.ResultChan() {
				if crb, ok := ev.Object.(*rbacv1.ClusterRoleBinding); ok && ev.Type == watch.Added {
					a.mu.Lock()
					a.at[crb.Labels["management.herd.dev/owner"]] = time.Now()
					a.mu.Unlock()
					select {
					case a.wake <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	return a
}

// createBindings makes benchBindings bindings in every cluster and returns
// each one's time to appear downstream.
func (e *env) createBindings(b *testing.B, all map[string]*localcluster.Cluster, seen *arrivals, round int) []time.Duration {
	type job struct{ cluster, group string }
	jobs := make(chan job)
	sent := map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				start := time.Now()
				code, body := e.s.Do(b, "POST", "/v1/members", e.admin,
					herdapi.MemberRequest{ClusterName: j.cluster, RoleTemplate: "view-nodes", Group: j.group})
				if code != http.StatusCreated {
					b.Errorf("add member: %d %s", code, body)
					continue
				}
				var m herdapi.Member
				_ = decode(body, &m)
				mu.Lock()
				sent[m.Name] = start
				mu.Unlock()
			}
		})
	}
	for i := range benchBindings {
		for name := range all {
			jobs <- job{name, fmt.Sprintf("bench://round-%d/group-%d", round, i)}
		}
	}
	close(jobs)
	wg.Wait()
	deadline := time.After(2 * time.Minute)
	for {
		seen.mu.Lock()
		var lat []time.Duration
		for name, start := range sent {
			if at, ok := seen.at[name]; ok {
				lat = append(lat, max(at.Sub(start), 0))
			}
		}
		seen.mu.Unlock()
		if len(lat) == len(sent) {
			return lat
		}
		select {
		case <-seen.wake:
		case <-deadline:
			b.Fatalf("%d of %d bindings reached their clusters in 2 minutes", len(lat), len(sent))
		}
	}
}
