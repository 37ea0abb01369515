package clusters

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
)

// Writes of the connection state (the Connected condition) follow tunnel
// changes through a queue: changes of one cluster that pile up make one
// write, a cluster whose agent reconnects in a tight loop is written ever
// more rarely (flapDelay doubling up to flapMaxDelay, reset once it has
// been quiet for flapQuiet), and a whole fleet reconnecting at once is
// written at most connWriteQPS a second, so that neither floods the
// management cluster. The tunnel itself is usable at once.
const (
	flapDelay    = 50 * time.Millisecond
	flapMaxDelay = 30 * time.Second
	flapQuiet    = time.Minute
	connWriteQPS = 100
	// flapWarn changes without a quiet minute make a loop worth a warning
	// (a cluster with two agents makes four over a server restart).
	flapWarn = 10
)

// connLimiter is the rate limiter of connection state writes.
func connLimiter() workqueue.TypedRateLimiter[string] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](flapDelay, flapMaxDelay),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(connWriteQPS, 10*connWriteQPS)},
	)
}

func newConnQueue() workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueue(connLimiter())
}

// connectionChanged queues a write of the cluster's connection state.
func (m *Manager) connectionChanged(cluster string) {
	if n := m.connQueue.NumRequeues(cluster); n == flapWarn {
		m.log.Warn("cluster agent reconnects in a loop: its connection state is written less often", "cluster", cluster)
	}
	m.connQueue.AddRateLimited(cluster)
}

// connWriters is how many connection state writes run at once: one
// write takes a round trip to the management cluster, so a single writer
// would fall behind connWriteQPS when a fleet reconnects.
const connWriters = 4

// RunConnectionWrites writes queued connection states until ctx ends. The
// queue hands a cluster to one writer at a time.
func (m *Manager) RunConnectionWrites(ctx context.Context) error {
	context.AfterFunc(ctx, m.connQueue.ShutDown)
	var writers sync.WaitGroup
	for range connWriters {
		writers.Go(func() {
			for {
				name, shutdown := m.connQueue.Get()
				if shutdown {
					return
				}
				m.setConnected(name)
				m.connQueue.Done(name)
				m.forgetWhenQuiet(name)
			}
		})
	}
	writers.Wait()
	return nil
}

// forgetWhenQuiet resets a cluster's backoff once no change came for
// flapQuiet.
func (m *Manager) forgetWhenQuiet(name string) {
	n := m.connQueue.NumRequeues(name)
	time.AfterFunc(flapQuiet, func() {
		if m.connQueue.NumRequeues(name) == n {
			m.connQueue.Forget(name)
		}
	})
}
