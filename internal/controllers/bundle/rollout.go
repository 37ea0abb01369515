package bundle

import (
	"fmt"
	"slices"
	"strings"

	v1 "herd.dev/herd/api/v1"
)

// target is one cluster a bundle goes to, with what it should hold.
type target struct {
	cluster   string
	connected bool
	spec      v1.BundleDeploymentSpec // Hash set
}

// plan is what one reconcile changes: BundleDeployments to create or to
// update to their target's spec, and to delete.
type plan struct {
	stage   []v1.BundleDeploymentSpec
	delete  []string // BundleDeployment names
	paused  bool
	failed  string // the cluster that paused the rollout
	waiting int    // targets held back by the limit
}

// settled: the cluster holds what its deployment asks for and it is ready
// (or drifted, reported only: nothing more will happen to it).
func settled(bd *v1.BundleDeployment) bool {
	st := bd.Status
	return st.AppliedHash == bd.Spec.Hash && (st.Ready || st.State == v1.BundleStateDrifted)
}

// failed: the cluster could not apply what its deployment asks for.
func failed(bd *v1.BundleDeployment) bool {
	return bd.Status.FailedHash != "" && bd.Status.FailedHash == bd.Spec.Hash
}

// planRollout decides which clusters get their target spec now. At most
// maxChanging connected clusters (0: any number) are changing at once: a
// cluster is changing from when its deployment is staged until it is
// settled or failed. A cluster that failed the spec it is to hold pauses
// the rollout unless continueOnFailure. Offline clusters are staged
// without counting: they apply when they come back. Deployments of
// clusters no longer targeted are deleted at once.
func planRollout(targets []target, existing map[string]*v1.BundleDeployment, maxChanging int32, continueOnFailure bool) plan {
	var p plan
	wanted := map[string]bool{}
	for _, t := range targets {
		wanted[t.cluster] = true
	}
	for cluster, bd := range existing {
		if !wanted[cluster] && bd.DeletionTimestamp.IsZero() {
			p.delete = append(p.delete, bd.Name)
		}
	}
	slices.Sort(p.delete)
	slices.SortFunc(targets, func(a, b target) int { return strings.Compare(a.cluster, b.cluster) })
	changing := 0
	for _, t := range targets {
		bd := existing[t.cluster]
		if bd == nil || !t.connected || settled(bd) || failed(bd) {
			continue
		}
		changing++
	}
	for _, t := range targets {
		bd := existing[t.cluster]
		if bd != nil && bd.Spec.Hash == t.spec.Hash && failed(bd) && !continueOnFailure && p.failed == "" {
			p.paused, p.failed = true, t.cluster
		}
	}
	for _, t := range targets {
		bd := existing[t.cluster]
		if bd != nil && (bd.Spec.Hash == t.spec.Hash || !bd.DeletionTimestamp.IsZero()) {
			continue
		}
		if p.paused {
			p.waiting++
			continue
		}
		counted := bd != nil && t.connected && !settled(bd) && !failed(bd)
		if t.connected && !counted {
			if maxChanging > 0 && int32(changing) >= maxChanging {
				p.waiting++
				continue
			}
			changing++
		}
		p.stage = append(p.stage, t.spec)
	}
	return p
}

// summary describes the rollout for the Bundle's message.
func (p plan) summary(message func(cluster string) string) string {
	switch {
	case p.paused:
		return fmt.Sprintf("rollout paused: cluster %s failed: %s", p.failed, message(p.failed))
	case p.waiting > 0:
		return fmt.Sprintf("rolling out: %d cluster(s) wait for a free slot", p.waiting)
	}
	return ""
}
