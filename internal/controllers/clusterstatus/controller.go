package clusterstatus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// writeTimeout bounds one WriteStatus call.
const writeTimeout = 15 * time.Second

// Controller keeps the status of one Cluster up to date from its
// downstream cluster. Create it with New and call Run while the cluster's
// tunnel is up.
type Controller struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{} // one pending "the status may have changed"

	mu        sync.Mutex       // guards the probe results below
	probed    bool             // a probe has ended in this Run
	ready     metav1.Condition // the Ready condition; kept across Runs
	version   string
	versionAt time.Time
	lastSeen  time.Time

	written *Observed // the last status written in this Run; flush loop only
}

// New returns a Controller for cfg, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Controller{
		cfg:  cfg,
		log:  cfg.Logger.With("cluster", cfg.Cluster),
		kick: make(chan struct{}, 1),
	}, nil
}

// Run watches the downstream cluster and writes its status until ctx ends,
// then returns nil once its goroutines have stopped. The first write comes
// after the node and pod caches have synced and the first /readyz probe.
//
// Run may be called again after it returned (say, for the next tunnel
// session), never concurrently. A Controller kept across sessions keeps the
// Ready condition's lastTransitionTime while the readiness stays the same.
func (c *Controller) Run(ctx context.Context) error {
	factory, nodes, pods, err := newInformers(c.cfg.Kube, c.markDirty)
	if err != nil {
		return fmt.Errorf("failed to watch cluster %s: %w", c.cfg.Cluster, err)
	}
	c.mu.Lock()
	c.probed = false
	c.mu.Unlock()
	c.written = nil

	factory.StartWithContext(ctx)
	defer factory.Shutdown()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.probeLoop(ctx) })

	c.log.Debug("watching the cluster's nodes and pods")
	if factory.WaitForCacheSyncWithContext(ctx).AsError() != nil {
		return nil // only the end of ctx stops the wait
	}
	c.flushLoop(ctx, nodes, pods)
	return nil
}

// markDirty tells the flush loop that the status may have changed. It
// never blocks: many calls before the loop looks make one.
func (c *Controller) markDirty() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flushLoop writes the status when it changed or the heartbeat is due,
// computing and writing at most once per MinInterval.
func (c *Controller) flushLoop(ctx context.Context, nodes, pods cache.Store) {
	heartbeat := time.NewTimer(c.cfg.Heartbeat)
	defer heartbeat.Stop()
	heartbeatDue := false
	c.markDirty() // the caches hold the first status
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-heartbeat.C:
			heartbeatDue = true
		}
		o, ok := c.observe(nodes, pods)
		if !ok {
			continue // the first probe's result kicks again
		}
		if heartbeatDue || c.written == nil || !o.sameAs(*c.written) {
			if c.write(ctx, o) {
				heartbeatDue = false
				heartbeat.Reset(c.cfg.Heartbeat)
			} else {
				c.markDirty() // try again after the pause
			}
		}
		pause := time.NewTimer(c.cfg.MinInterval)
		select {
		case <-ctx.Done():
			pause.Stop()
			return
		case <-pause.C:
		}
	}
}

// observe returns the status as of now, false before the first probe of
// this Run has ended.
func (c *Controller) observe(nodes, pods cache.Store) (Observed, bool) {
	c.mu.Lock()
	probed, ready, version, lastSeen := c.probed, c.ready, c.version, c.lastSeen
	c.mu.Unlock()
	if !probed {
		return Observed{}, false
	}
	o := summarize(typed[*corev1.Node](nodes.List()), typed[*corev1.Pod](pods.List()))
	o.Ready, o.KubernetesVersion, o.LastSeen = ready, version, lastSeen
	return o, true
}

// write hands o to the Writer and reports whether it was written.
func (c *Controller) write(ctx context.Context, o Observed) bool {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := c.cfg.Writer.WriteStatus(wctx, c.cfg.Cluster, o); err != nil {
		if ctx.Err() == nil {
			c.log.Warn("failed to write the cluster status", "err", err)
		}
		return false
	}
	c.written = &o
	return true
}

// typed returns the elements of objs that are T.
func typed[T any](objs []any) []T {
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
