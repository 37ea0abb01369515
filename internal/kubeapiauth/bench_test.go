package kubeapiauth

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkReview answers TokenReviews with 10,000 copies synced, one
// request at a time and from parallel callers, through Review and through
// the HTTP handler (JSON in and out, no TLS). Besides ns/op it reports the
// 99th percentile of the per-review time as p99-ns.
func BenchmarkReview(b *testing.B) {
	const copies = 10_000
	tokens := make([]string, copies)
	objs := make([]runtime.Object, copies)
	for i := range copies {
		c, token := newCopy(fmt.Sprintf("t-%05d", i), nil)
		tokens[i], objs[i] = token, c.Secret()
	}
	h := newHarness(b, true, objs...)
	if n := h.index.len(); n != copies {
		b.Fatalf("index holds %d copies, want %d", n, copies)
	}
	handler := h.Handler()
	bodies := make([]string, copies)
	for i, tok := range tokens {
		bodies[i] = reviewJSON("authentication.k8s.io/v1", "TokenReview", tok)
	}
	review := func(b *testing.B, i int) {
		out, err := h.Review(context.Background(), newReview(tokens[i%copies]))
		if err != nil || !out.Status.Authenticated {
			b.Errorf("Review: %v, %+v", err, out)
		}
	}
	serve := func(b *testing.B, i int) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("POST", "/authenticate", strings.NewReader(bodies[i%copies])))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"authenticated":true`) {
			b.Errorf("POST /authenticate: %d %s", rec.Code, rec.Body)
		}
	}
	for _, bc := range []struct {
		name     string
		op       func(*testing.B, int)
		parallel bool
	}{
		{"Review", review, false},
		{"Review/parallel", review, true},
		{"Handler", serve, false},
		{"Handler/parallel", serve, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var p99 time.Duration
			if bc.parallel {
				p99 = timedParallel(b, bc.op)
			} else {
				p99 = timed(b, bc.op)
			}
			b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
		})
	}
}

// timed runs op b.N times and returns the 99th percentile of its times.
func timed(b *testing.B, op func(*testing.B, int)) time.Duration {
	times := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		op(b, i*7919) // a stride over the tokens, not the map's order
		times[i] = time.Since(start)
	}
	b.StopTimer()
	return p99(times)
}

// timedParallel is timed across GOMAXPROCS goroutines.
func timedParallel(b *testing.B, op func(*testing.B, int)) time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var seed int
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		seed++
		i := seed * 1_000
		mu.Unlock()
		var times []time.Duration
		for ; pb.Next(); i++ {
			start := time.Now()
			op(b, i*7919)
			times = append(times, time.Since(start))
		}
		mu.Lock()
		all = append(all, times...)
		mu.Unlock()
	})
	b.StopTimer()
	return p99(all)
}

func p99(times []time.Duration) time.Duration {
	if len(times) == 0 {
		return 0
	}
	slices.Sort(times)
	return times[(len(times)*99)/100]
}
