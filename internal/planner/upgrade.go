package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/kubeversion"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/nodedrain"
)

// Upgrades. Each machine's plan carries the Kubernetes version its
// components run (kept in the PKI Secret, keyVersion+MACHINE, so that a
// plan does not change version until the planner moves that machine on).
// When the cluster's KubernetesVersion changes, the control planes move
// one at a time, each once every control plane serves; then the workers,
// at the cluster's worker concurrency, each cordoned and drained (its
// pods evicted as PodDisruptionBudgets allow) before its plan changes and
// uncordoned once its node agent runs the new one. So no kubelet is ever
// newer than a kube-apiserver, and the apiservers are never more than the
// one minor apart that an upgrade may step. etcd's plan does not depend
// on the Kubernetes version.
const (
	keyVersion = "version-"
	// keyUpgrading+WORKER marks a worker taken out for its upgrade.
	keyUpgrading = "upgrading-"
	// upgradeDrainTimeout bounds one drain attempt: a drain that a
	// PodDisruptionBudget holds up is tried again at the next reconcile.
	upgradeDrainTimeout = 15 * time.Second
	// upgradeRequeue is how soon an upgrade in progress is looked at again.
	upgradeRequeue = 5 * time.Second
)

// upgrade is where a cluster's machines are with its Kubernetes version.
type upgrade struct {
	target  string
	version map[string]string // machine name -> version of its plan
	verdict verdict           // the Upgraded condition
}

// versions decides the Kubernetes version of each machine's plan this
// round and moves an upgrade on by one step.
func (p *planner) versions(ctx context.Context, c *v1.Cluster, pki map[string][]byte, cps, workers []*v1.Machine) (*upgrade, error) {
	u := &upgrade{target: c.Spec.Provisioning.KubernetesVersion, version: map[string]string{}}
	if err := p.assignVersions(ctx, c, pki, u, append(slices.Clone(cps), workers...), cps); err != nil {
		return nil, err
	}
	for _, m := range append(slices.Clone(cps), workers...) {
		if msg := kubeversion.CheckChange(u.version[m.Name], u.target); u.version[m.Name] != u.target && msg != "" {
			u.verdict = waiting("UpgradeRefused", "machine %s runs Kubernetes %s: %s", m.Spec.Hostname, u.version[m.Name], msg)
			return u, nil
		}
	}
	done, v, err := p.upgradeControlPlanes(ctx, c, pki, u, cps)
	if err != nil || !done {
		u.verdict = v
		return u, err
	}
	u.verdict, err = p.upgradeWorkers(ctx, c, pki, u, workers)
	return u, err
}

// assignVersions reads each machine's version; a machine without one
// (new) gets the oldest version a control plane runs, or the cluster's if
// none has one yet, and keeps it.
func (p *planner) assignVersions(ctx context.Context, c *v1.Cluster, pki map[string][]byte, u *upgrade, ms, cps []*v1.Machine) error {
	floor := ""
	for _, m := range cps {
		if v := string(pki[keyVersion+m.Name]); v != "" && (floor == "" || kubeversion.Older(v, floor)) {
			floor = v
		}
	}
	if floor == "" {
		floor = u.target
	}
	changed := false
	for k := range pki {
		name, ok := strings.CutPrefix(k, keyVersion)
		if !ok {
			name, ok = strings.CutPrefix(k, keyUpgrading)
		}
		if ok && !slices.ContainsFunc(ms, func(m *v1.Machine) bool { return m.Name == name }) {
			delete(pki, k) // the machine is gone
			changed = true
		}
	}
	for _, m := range ms {
		v := string(pki[keyVersion+m.Name])
		if v == "" {
			v, changed = floor, true
			pki[keyVersion+m.Name] = []byte(v)
		}
		u.version[m.Name] = v
	}
	if changed {
		return p.storePKI(ctx, c, pki)
	}
	return nil
}

// upgradeControlPlanes moves the next control plane to the target once
// every control plane serves; it reports whether all of them run it.
func (p *planner) upgradeControlPlanes(ctx context.Context, c *v1.Cluster, pki map[string][]byte, u *upgrade, cps []*v1.Machine) (bool, verdict, error) {
	var next *v1.Machine
	done := 0
	for _, m := range cps {
		if u.version[m.Name] == u.target {
			done++
		} else if next == nil {
			next = m
		}
	}
	if done == len(cps) && p.upgradeCount(pki, u.target) == 0 {
		return true, verdict{}, nil // nothing moved: no need to look
	}
	for _, m := range cps {
		ok, why, err := p.settled(ctx, m, "apiserver")
		if err != nil {
			return false, verdict{}, err
		}
		if !ok {
			return false, waiting("Upgrading", "upgrading to Kubernetes %s: %d of %d control planes done; waiting for control plane %s (%s): %s",
				u.target, done, len(cps), m.Spec.Hostname, m.Name, why), nil
		}
	}
	if next == nil {
		return true, verdict{}, nil
	}
	pki[keyVersion+next.Name] = []byte(u.target)
	if err := p.storePKI(ctx, c, pki); err != nil {
		return false, verdict{}, err
	}
	u.version[next.Name] = u.target
	p.log.Info("upgrading a control plane", "cluster", c.Name, "machine", next.Name, "version", u.target)
	return false, waiting("Upgrading", "upgrading to Kubernetes %s: %d of %d control planes done; upgrading control plane %s (%s)",
		u.target, done, len(cps), next.Spec.Hostname, next.Name), nil
}

// upgradeCount is how many machines keep a version other than target
// (0 once an upgrade has ended everywhere).
func (p *planner) upgradeCount(pki map[string][]byte, target string) int {
	n := 0
	for k, v := range pki {
		if strings.HasPrefix(k, keyVersion) && string(v) != target || strings.HasPrefix(k, keyUpgrading) {
			n++
		}
	}
	return n
}

// upgradeWorkers moves the workers to the target, concurrency at a time:
// drain, new plan, wait for it to run, uncordon.
func (p *planner) upgradeWorkers(ctx context.Context, c *v1.Cluster, pki map[string][]byte, u *upgrade, workers []*v1.Machine) (verdict, error) {
	concurrency := 1
	if s := c.Spec.Provisioning.UpgradeStrategy; s != nil && s.WorkerConcurrency > 0 {
		concurrency = int(s.WorkerConcurrency)
	}
	done, busy := 0, 0
	var working []string
	for _, m := range workers {
		taken := len(pki[keyUpgrading+m.Name]) > 0
		if u.version[m.Name] == u.target && !taken {
			done++
			continue
		}
		if !taken && busy >= concurrency {
			continue
		}
		busy++
		finished, why, err := p.upgradeWorker(ctx, c, pki, u, m, len(workers) > 1)
		if err != nil {
			return verdict{}, err
		}
		if finished {
			done++
			busy--
			continue
		}
		working = append(working, fmt.Sprintf("%s: %s", m.Spec.Hostname, why))
	}
	if done == len(workers) {
		return verdict{ok: true, reason: "UpToDate", message: fmt.Sprintf("every machine runs Kubernetes %s", u.target)}, nil
	}
	return waiting("Upgrading", "upgrading to Kubernetes %s: control planes done, %d of %d workers done; %v",
		u.target, done, len(workers), working), nil
}

// upgradeWorker takes m one step on: it reports whether m is done, and
// else what it waits for.
func (p *planner) upgradeWorker(ctx context.Context, c *v1.Cluster, pki map[string][]byte, u *upgrade, m *v1.Machine, drain bool) (bool, string, error) {
	node := m.Spec.Hostname
	if u.version[m.Name] != u.target {
		if len(pki[keyUpgrading+m.Name]) == 0 {
			pki[keyUpgrading+m.Name] = []byte(u.target)
			if err := p.storePKI(ctx, c, pki); err != nil {
				return false, "", err
			}
			p.log.Info("upgrading a worker", "cluster", c.Name, "machine", m.Name, "version", u.target, "drain", drain)
		}
		if drain {
			if err := p.drain(ctx, c, node, true); err != nil {
				return false, "draining: " + err.Error(), nil
			}
		}
		pki[keyVersion+m.Name] = []byte(u.target)
		u.version[m.Name] = u.target
		return false, "drained; its node agent takes up the new version", p.storePKI(ctx, c, pki)
	}
	ok, why, err := p.settled(ctx, m, "")
	if err != nil || !ok {
		return false, why, err
	}
	if drain {
		if err := p.drain(ctx, c, node, false); err != nil {
			return false, "uncordoning: " + err.Error(), nil
		}
	}
	delete(pki, keyUpgrading+m.Name)
	p.log.Info("worker upgraded", "cluster", c.Name, "machine", m.Name, "version", u.target)
	return true, "", p.storePKI(ctx, c, pki)
}

// drain cordons and drains node (or uncordons it) in the cluster.
func (p *planner) drain(ctx context.Context, c *v1.Cluster, node string, out bool) error {
	if p.opts.Kube == nil {
		return nil
	}
	kube, err := p.opts.Kube(ctx, c.Name)
	if err != nil {
		return fmt.Errorf("no way to the cluster: %w", err)
	}
	log := p.log.With("cluster", c.Name, "node", node)
	if !out {
		return nodedrain.Uncordon(ctx, kube, node, log)
	}
	ctx, cancel := context.WithTimeout(ctx, upgradeDrainTimeout+5*time.Second)
	defer cancel()
	return nodedrain.Drain(ctx, kube, node, upgradeDrainTimeout, log)
}

// settled reports whether m's node agent runs its current plan (read
// uncached: the plan may have changed this very round) and passes probe
// (if any); else why not.
func (p *planner) settled(ctx context.Context, m *v1.Machine, probe string) (bool, string, error) {
	var cur v1.Machine
	if err := p.api.Get(ctx, client.ObjectKey{Name: m.Name}, &cur); err != nil {
		return false, "", err
	}
	rev, err := machines.CurrentRevision(ctx, p.api, &cur)
	if err != nil {
		return false, "", err
	}
	st := cur.Status
	switch {
	case st.AppliedRevision != rev:
		return false, "its node agent has not taken up its new plan", nil
	case st.State != v1.PlanSucceeded:
		return false, state(&cur, probe), nil
	case probe != "" && !st.Probes[probe]:
		return false, "probe " + probe + " fails", nil
	}
	return true, "", nil
}
