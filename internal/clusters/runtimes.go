package clusters

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/controllers/bundleapply"
	"herd.dev/herd/internal/controllers/clusterstatus"
	"herd.dev/herd/internal/controllers/projectguard"
	"herd.dev/herd/internal/controllers/rbac"
	"herd.dev/herd/internal/controllers/tokensync"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/tokencopy"
)

// runtimes runs, on this replica, the controllers of every cluster it
// owns (Cluster status.owner) and can reach: through an agent's tunnel
// here or, over a peer link, through another replica's.
type runtimes struct {
	mu      sync.Mutex
	running map[string]*clusterRuntime
	// failed holds, per cluster whose controllers failed to start, when
	// to try again: a cluster that cannot start (not registered yet) costs
	// reads of the management cluster only every so often.
	failed map[string]*retryAt
	wg     sync.WaitGroup
}

// retryAt is the next start attempt of a cluster's controllers.
type retryAt struct {
	at   time.Time
	wait time.Duration
}

// Start failures are retried after startRetry, doubling up to startRetryMax.
const (
	startRetry    = 2 * time.Second
	startRetryMax = 2 * time.Minute
	// notRegisteredRecheck is how long a cluster with a tunnel but no
	// registration waits: its registration or tunnel changing starts its
	// controllers at once (registrationChanged, reachChanged), so this is
	// only a safety net, and each look costs two reads of the management
	// cluster.
	notRegisteredRecheck = 5 * time.Minute
)

// due reports whether the cluster's controllers may be started now.
func (rt *runtimes) due(cluster string, now time.Time) bool {
	f := rt.failed[cluster]
	return f == nil || !now.Before(f.at)
}

// startFailed pushes the cluster's next start attempt back.
func (rt *runtimes) startFailed(cluster string, now time.Time) time.Duration {
	if rt.failed == nil {
		rt.failed = map[string]*retryAt{}
	}
	f := rt.failed[cluster]
	if f == nil {
		f = &retryAt{wait: startRetry / 2}
		rt.failed[cluster] = f
	}
	f.wait = min(2*f.wait, startRetryMax)
	f.at = now.Add(f.wait)
	return f.wait
}

// startFailedFor sets the cluster's next start attempt wait from now.
func (rt *runtimes) startFailedFor(cluster string, now time.Time, wait time.Duration) time.Duration {
	if rt.failed == nil {
		rt.failed = map[string]*retryAt{}
	}
	rt.failed[cluster] = &retryAt{at: now.Add(wait), wait: wait}
	return wait
}

// reachChanged runs when a tunnel to the cluster came or went, here or
// at a peer: what kept its controllers from starting (no registration, no
// tunnel) may be gone, so the next attempt is not held back by earlier
// failures. A registration change not verified yet is checked again.
func (m *Manager) reachChanged(cluster string) {
	m.runtimes.mu.Lock()
	delete(m.runtimes.failed, cluster)
	m.runtimes.mu.Unlock()
	m.queue.Add(cluster)
	if _, ok := m.unverified.Load(cluster); ok {
		var c v1.Cluster
		if err := m.cache.Get(m.cfg.Context, client.ObjectKey{Name: cluster}, &c); err == nil {
			go m.registrationChanged(&c)
		}
	}
}

// clusterRuntime is one cluster's controllers.
type clusterRuntime struct {
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // closed when every controller has returned
	uid     types.UID     // of the Cluster they run for
	rbac    *rbac.Controller
	tokens  *tokensync.Controller
	bundles *bundleapply.Controller
}

// stop cancels the controllers and waits (bounded) until they returned.
func (r *clusterRuntime) stop(m *Manager, cluster string) {
	r.cancel()
	select {
	case <-r.done:
		m.log.Info("cluster controllers stopped", "cluster", cluster)
	case <-time.After(stopWait):
		m.log.Error("cluster controllers did not stop in time", "cluster", cluster, "waited", stopWait)
	}
}

// syncRuntime settles the cluster's owner, then starts or stops its
// controllers to match: they run on the owner while the cluster is
// reachable (of the cluster's current UID); a cluster being deleted runs
// none, and its owner cleans up instead. Calls are serialized.
func (m *Manager) syncRuntime(ctx context.Context, cluster string) {
	rt := &m.runtimes
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.running == nil {
		rt.running = map[string]*clusterRuntime{}
	}
	var c v1.Cluster
	exists := m.cache.Get(ctx, client.ObjectKey{Name: cluster}, &c) == nil
	stop := func() {
		if r, ok := rt.running[cluster]; ok {
			r.stop(m, cluster)
			delete(rt.running, cluster)
		}
	}
	if current, running := rt.running[cluster]; running && (!exists || current.uid != c.UID || !c.DeletionTimestamp.IsZero() ||
		current.ctx.Err() != nil) {
		stop() // a deleted, terminating or replaced cluster, or fenced controllers
	}
	if !exists {
		delete(rt.failed, cluster)
		return
	}
	owned := m.syncOwner(ctx, &c, stop)
	reachable := owned && m.Reachable(&c) && ctx.Err() == nil
	_, running := rt.running[cluster]
	switch {
	case reachable && !c.DeletionTimestamp.IsZero():
		m.startCleanup(ctx, &c)
	case reachable && !running:
		if !rt.due(cluster, time.Now()) || !m.confirmOwner(ctx, &c) {
			return
		}
		r, err := m.startRuntime(ctx, &c)
		if errors.Is(err, errNotRegistered) {
			// Nothing to retry soon: the registration and the agent's
			// tunnel reset this wait (registrationChanged, reachChanged).
			if rt.failed[cluster] == nil {
				m.log.Info("cluster has not registered: its controllers start when it does", "cluster", cluster)
			}
			m.queue.AddAfter(cluster, rt.startFailedFor(cluster, time.Now(), notRegisteredRecheck))
			return
		}
		if err != nil {
			wait := rt.startFailed(cluster, time.Now())
			m.log.Error("failed to start the cluster's controllers", "cluster", cluster, "err", err, "retryIn", wait.String())
			m.queue.AddAfter(cluster, wait)
			return
		}
		delete(rt.failed, cluster)
		rt.running[cluster] = r
	case !reachable && running:
		stop()
	}
}

func (m *Manager) startRuntime(ctx context.Context, c *v1.Cluster) (*clusterRuntime, error) {
	cluster := c.Name
	d, err := m.newDownstream(ctx, c, false)
	if err != nil {
		return nil, err
	}
	ctrl, err := rbac.New(rbac.Config{
		Cluster: cluster,
		Kube:    d.accounts.Client,
		Source:  &mgmtSource{cache: m.cache},
		Report:  m.reportRBAC,
		Logger:  m.log.With("controller", "rbac", "cluster", cluster),
	})
	if err != nil {
		return nil, err
	}
	status, err := clusterstatus.New(clusterstatus.Config{
		Cluster:   cluster,
		Kube:      d.accounts.Client,
		Writer:    &clusterstatus.ManagementWriter{Client: m.client, OmitLastSeen: true},
		Logger:    m.log.With("controller", "clusterstatus", "cluster", cluster),
		Now:       m.now,
		Heartbeat: statusHeartbeat,
	})
	if err != nil {
		return nil, err
	}
	tokens, err := tokensync.New(tokensync.Config{
		Cluster: cluster,
		Kube:    d.accounts.Client,
		Source: &tokenSource{cache: m.cache, owner: func(ctx context.Context, userName string, groups []string) bool {
			return m.cfg.Authz.IsClusterAdmin(ctx, &authn.Identity{UserName: userName, Groups: groups}, cluster)
		}},
		Logger: m.log.With("controller", "tokensync", "cluster", cluster),
	})
	if err != nil {
		return nil, err
	}
	guard, err := projectguard.New(projectguard.Config{
		Cluster: cluster,
		Kube:    d.accounts.Client,
		Report:  m.reportProjectGuard,
		Logger:  m.log.With("controller", "projectguard", "cluster", cluster),
	})
	if err != nil {
		return nil, err
	}
	bundles, err := bundleapply.New(bundleapply.Config{
		Cluster: cluster, Client: m.client, Cache: m.cache, API: m.api, Agent: d.rest,
		AsUser: func(ctx context.Context, user string) (*rest.Config, error) {
			return m.userConfig(ctx, d, cluster, user)
		},
		Logger: m.log.With("controller", "bundles", "cluster", cluster), Now: m.now,
	})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(m.fence())
	stopWith := context.AfterFunc(ctx, cancel)
	r := &clusterRuntime{ctx: rctx, cancel: func() { stopWith(); cancel() }, done: make(chan struct{}), uid: c.UID, rbac: ctrl, tokens: tokens, bundles: bundles}
	runs := map[string]func(context.Context) error{"rbac": ctrl.Run, "clusterstatus": status.Run, "tokensync": tokens.Run,
		"projectguard": guard.Run, "bundles": bundles.Run}
	var all sync.WaitGroup
	for name, run := range runs {
		m.runtimes.wg.Add(1)
		all.Add(1)
		go func() {
			defer m.runtimes.wg.Done()
			defer all.Done()
			if err := run(rctx); err != nil && rctx.Err() == nil {
				m.log.Error("cluster controller stopped", "controller", name, "cluster", cluster, "err", err)
			}
		}()
	}
	go func() { all.Wait(); close(r.done) }()
	m.log.Info("cluster controllers started", "cluster", cluster)
	return r, nil
}

// stopRuntimes stops every cluster's controllers and waits for them.
func (m *Manager) StopRuntimes() {
	m.runtimes.mu.Lock()
	for name, r := range m.runtimes.running {
		r.cancel()
		delete(m.runtimes.running, name)
	}
	m.runtimes.mu.Unlock()
	m.runtimes.wg.Wait()
}

// triggerRBAC asks the RBAC controllers of the named clusters (all of
// them when clusters is nil) to sync.
func (m *Manager) TriggerRBAC(clusters ...string) {
	m.runtimes.mu.Lock()
	defer m.runtimes.mu.Unlock()
	if clusters == nil {
		for _, r := range m.runtimes.running {
			r.rbac.Trigger()
		}
		return
	}
	for _, c := range clusters {
		if r, ok := m.runtimes.running[c]; ok {
			r.rbac.Trigger()
		}
	}
}

// triggerTokens asks the token copy controllers of the named clusters
// (all of them when clusters is nil) to sync.
func (m *Manager) TriggerTokens(clusters ...string) {
	m.runtimes.mu.Lock()
	defer m.runtimes.mu.Unlock()
	for name, r := range m.runtimes.running {
		if clusters == nil || slices.Contains(clusters, name) {
			r.tokens.Trigger()
		}
	}
}

// tokenSource lists the token copies a cluster should hold: its
// cluster-scoped tokens, with their users' state and groups.
type tokenSource struct {
	cache client.Reader
	// owner reports whether a user administers every downstream cluster;
	// their copies carry the group the import manifest binds to
	// cluster-admin, as the proxy adds it.
	owner func(ctx context.Context, userName string, groups []string) bool
}

func (t *tokenSource) Copies(ctx context.Context, cluster string) ([]tokencopy.Copy, error) {
	var tokens v1.TokenList
	if err := t.cache.List(ctx, &tokens, client.MatchingFields{index.TokenCluster: cluster}); err != nil {
		return nil, err
	}
	var c v1.Cluster
	if err := t.cache.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil {
		return nil, err
	}
	var out []tokencopy.Copy
	for _, tok := range tokens.Items {
		if tok.Spec.ClusterUID != string(c.UID) {
			continue // scoped to an earlier cluster of that name
		}
		var user v1.User
		if err := t.cache.Get(ctx, client.ObjectKey{Name: tok.Spec.UserName}, &user); err != nil {
			continue // no user: no copy, so the token is refused
		}
		admin := t.owner != nil && t.owner(ctx, user.Name, user.Status.GroupPrincipals)
		groups := authproxy.Groups(user.Status.GroupPrincipals, admin)
		out = append(out, tokencopy.Copy{TokenName: tok.Name, Hash: tok.Spec.Hash, UserName: user.Name, Username: user.Spec.Username,
			Groups: groups, ExpiresAt: tok.Spec.ExpiresAt.Time, Enabled: tok.Spec.Enabled && user.Spec.Enabled,
			Cluster: cluster, ClusterUID: string(c.UID)})
	}
	return out, nil
}

// mgmtSource reads a cluster's RBAC input from the management cache.
type mgmtSource struct {
	cache client.Reader
}

var _ rbac.Source = (*mgmtSource)(nil)

func (m *mgmtSource) Input(ctx context.Context, cluster string) (rbac.Input, error) {
	var (
		templates v1.RoleTemplateList
		crtbs     v1.ClusterRoleTemplateBindingList
		projects  v1.ProjectList
	)
	if err := m.cache.List(ctx, &templates); err != nil {
		return rbac.Input{}, err
	}
	if err := m.cache.List(ctx, &crtbs, client.MatchingFields{index.Cluster: cluster}); err != nil {
		return rbac.Input{}, err
	}
	if err := m.cache.List(ctx, &projects, client.MatchingFields{index.Cluster: cluster}); err != nil {
		return rbac.Input{}, err
	}
	in := rbac.Input{Templates: templates.Items, CRTBs: crtbs.Items, Projects: projects.Items}
	for _, p := range projects.Items {
		var prtbs v1.ProjectRoleTemplateBindingList
		if err := m.cache.List(ctx, &prtbs, client.MatchingFields{index.Project: p.Name}); err != nil {
			return rbac.Input{}, err
		}
		in.PRTBs = append(in.PRTBs, prtbs.Items...)
	}
	return in, nil
}
