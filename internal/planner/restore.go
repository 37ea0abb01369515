package planner

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/wellknown"
)

// Restores. An EtcdRestore of the cluster, the oldest that has not
// ended, takes over the plans while it runs, step by step:
// StopControlPlanes (every control plane's plan keeps its files but runs
// nothing), RestoreEtcd (no etcd member runs; the first one's plan has
// one instruction, `herd etcd-snapshot restore`), Restart (the first
// member and the control planes as they are without a restore, but for
// the cluster agent and node registrations; the other members' data
// moved aside), RejoinEtcd (the other members join the restored
// one-member cluster again, one at a time, as when they were new),
// Reconnect (the plans as they are). Each step moves on once every machine it
// touches runs the plan it got; the restore succeeds once the
// kube-apiservers answer again. A restore that cannot start (another
// cluster's snapshot, one that failed, an upgrade running) fails before
// anything stops; one whose etcd restore fails (a corrupt or missing
// file) restarts the cluster on its own data in the same steps and then
// ends Failed.
const (
	restoreInstruction = "etcd-restore"
	restoreRequeue     = 3 * time.Second
)

// activeRestore is the cluster's oldest EtcdRestore that has not ended.
func (p *planner) activeRestore(ctx context.Context, c *v1.Cluster) (*v1.EtcdRestore, error) {
	var list v1.EtcdRestoreList
	if err := p.c.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		return nil, err
	}
	var out *v1.EtcdRestore
	for i := range list.Items {
		r := &list.Items[i]
		if r.Spec.ClusterName != c.Name || !ownedBy(r.OwnerReferences, c) || !r.DeletionTimestamp.IsZero() ||
			r.Status.Phase == v1.RestoreSucceeded || r.Status.Phase == v1.RestoreFailed {
			continue
		}
		if out == nil || r.CreationTimestamp.Before(&out.CreationTimestamp) ||
			r.CreationTimestamp.Equal(&out.CreationTimestamp) && r.Name < out.Name {
			out = r
		}
	}
	return out, nil
}

func ownedBy(refs []metav1.OwnerReference, c *v1.Cluster) bool {
	return slices.ContainsFunc(refs, func(o metav1.OwnerReference) bool { return o.UID == c.UID })
}

// restoring is a restore that runs this round.
type restoring struct {
	r    *v1.EtcdRestore
	snap *v1.EtcdSnapshot
}

// restore moves the cluster's active restore on and changes plans for
// its step; it returns the Provisioned verdict while one runs (nil when
// none does).
func (p *planner) restore(ctx context.Context, c *v1.Cluster, pki map[string][]byte, etcd, cps []*v1.Machine, up *upgrade, plans map[string][]herdapi.Plan) (*verdict, error) {
	r, err := p.activeRestore(ctx, c)
	if err != nil || r == nil {
		return nil, err
	}
	rs := &restoring{r: r}
	if r.Status.Phase == "" || r.Status.Phase == v1.RestorePending {
		if why, err := p.restoreRefused(ctx, c, pki, etcd, up, rs); err != nil || why != "" {
			if err != nil {
				return nil, err
			}
			return nil, p.endRestore(ctx, r, v1.RestoreFailed, why)
		}
		now := metav1.Now()
		if err := p.setRestore(ctx, r, v1.EtcdRestoreStatus{Phase: v1.RestoreInProgress, Step: v1.RestoreStopControlPlanes, StartedAt: &now,
			Message: "stopping every control plane"}); err != nil {
			return nil, err
		}
	} else if err := p.restoreSnapshot(ctx, c, rs); err != nil {
		return nil, err
	}
	i := slices.IndexFunc(etcd, func(m *v1.Machine) bool { return m.Name == string(pki[keyEtcdInit]) })
	if i < 0 || rs.snap == nil {
		return nil, p.endRestore(ctx, r, v1.RestoreFailed, "the etcd member or the snapshot went away during the restore; the cluster restarts as it was")
	}
	member := etcd[i]
	others := slices.Delete(slices.Clone(etcd), i, i+1)
	v := waiting("Restoring", "restoring etcd snapshot %s (%s): %s", r.Spec.SnapshotName, r.Name, r.Status.Step)
	switch r.Status.Step {
	case v1.RestoreStopControlPlanes:
		stopControlPlanes(cps, plans)
		withoutAPIServerWork(cps, plans)
		if ok, why, err := p.allRun(ctx, cps, plans, ""); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		return &v, p.setStep(ctx, r, v1.RestoreEtcd, "restoring etcd on machine "+member.Spec.Hostname)
	case v1.RestoreEtcd:
		stopControlPlanes(cps, plans)
		withoutAPIServerWork(cps, plans)
		s3, err := p.s3Plan(ctx, c)
		if err != nil {
			return nil, err
		}
		plans[member.Name] = replaceEtcdPart(plans[member.Name], restoreEtcdPlan(member, rs, s3))
		for _, m := range others {
			plans[m.Name] = replaceEtcdPart(plans[m.Name], nil) // stopped, data kept
		}
		rev, err := machines.RevisionOf(merge(plans[member.Name]...))
		if err != nil {
			return nil, err
		}
		st := member.Status
		if st.AppliedRevision == rev && st.State == v1.PlanFailed && st.FailedInstruction == restoreInstruction && st.Failures >= 3 {
			// Nothing was replaced: the cluster restarts on its data, in
			// the same steps, and the restore ends Failed after.
			failed := r.Status
			failed.Step, failed.Error = v1.RestoreRestart, "etcd could not be restored on machine "+member.Spec.Hostname+": "+lastLines(st.Output, 3)
			failed.Message = "restarting the cluster as it was"
			return &v, p.setRestore(ctx, r, failed)
		}
		if ok, why, err := p.allRun(ctx, append([]*v1.Machine{member}, others...), plans, ""); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		return &v, p.setStep(ctx, r, v1.RestoreRestart, "starting etcd and the control planes")
	case v1.RestoreRestart:
		withoutAPIServerWork(cps, plans)
		for _, m := range others {
			if r.Status.Error == "" {
				plans[m.Name] = replaceEtcdPart(plans[m.Name], wipeEtcdPlan())
			}
		}
		if ok, why, err := p.allRun(ctx, others, plans, ""); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		if ok, why, err := p.allRun(ctx, append([]*v1.Machine{member}, cps...), plans, ""); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		if ok, why, err := p.allRun(ctx, cps, plans, "apiserver"); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		if len(others) > 0 && r.Status.Error == "" {
			return &v, p.setStep(ctx, r, v1.RestoreRejoinEtcd, "the other etcd members join again, one at a time")
		}
		return &v, p.setStep(ctx, r, v1.RestoreReconnect, "starting the cluster agent")
	case v1.RestoreRejoinEtcd:
		withoutAPIServerWork(cps, plans)
		for j, m := range others {
			ok, why, err := p.allRun(ctx, []*v1.Machine{m}, plans, "etcd")
			if err != nil || !ok {
				for _, later := range others[j+1:] {
					plans[later.Name] = replaceEtcdPart(plans[later.Name], wipeEtcdPlan())
				}
				return &v, p.restoreWaits(ctx, r, "etcd member "+m.Spec.Hostname+" joins again: "+why, err)
			}
		}
		return &v, p.setStep(ctx, r, v1.RestoreReconnect, "starting the cluster agent")
	default: // Reconnect: the plans as they are.
		if ok, why, err := p.allRun(ctx, cps, plans, "apiserver"); err != nil || !ok {
			return &v, p.restoreWaits(ctx, r, why, err)
		}
		if r.Status.Error != "" {
			return &v, p.endRestore(ctx, r, v1.RestoreFailed, r.Status.Error+"; the cluster runs as it was")
		}
		return &v, p.endRestore(ctx, r, v1.RestoreSucceeded, "the cluster runs from snapshot "+r.Spec.SnapshotName)
	}
}

// restoreRefused says why r cannot start ("" if it can), and finds its
// snapshot.
func (p *planner) restoreRefused(ctx context.Context, c *v1.Cluster, pki map[string][]byte, etcd []*v1.Machine, up *upgrade, rs *restoring) (string, error) {
	if err := p.restoreSnapshot(ctx, c, rs); err != nil {
		return "", err
	}
	s := rs.snap
	switch {
	case s == nil:
		return fmt.Sprintf("etcd snapshot %s does not exist", rs.r.Spec.SnapshotName), nil
	case s.Spec.ClusterName != c.Name || !ownedBy(s.OwnerReferences, c):
		return fmt.Sprintf("etcd snapshot %s is of cluster %s, not of %s", s.Name, s.Spec.ClusterName, c.Name), nil
	case s.Status.Phase != v1.SnapshotSucceeded:
		return fmt.Sprintf("etcd snapshot %s was not taken (%s): there is nothing to restore", s.Name, s.Status.Phase), nil
	case !slices.ContainsFunc(etcd, func(m *v1.Machine) bool {
		return m.Name == string(pki[keyEtcdInit]) && (m.Spec.Hostname == s.Status.Machine || s.Status.S3Location != "" && c.Spec.Provisioning.EtcdS3 != nil)
	}):
		return fmt.Sprintf("etcd snapshot %s is on machine %s, which is not the cluster's first etcd member now, and not in S3", s.Name, s.Status.Machine), nil
	case up == nil || up.verdict.reason == "Upgrading":
		return fmt.Sprintf("cluster %s is being upgraded to Kubernetes %s: restore once the upgrade has ended", c.Name, c.Spec.Provisioning.KubernetesVersion), nil
	}
	return "", nil
}

func (p *planner) restoreSnapshot(ctx context.Context, c *v1.Cluster, rs *restoring) error {
	var s v1.EtcdSnapshot
	err := p.c.Get(ctx, client.ObjectKey{Name: rs.r.Spec.SnapshotName}, &s)
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	rs.snap = &s
	return nil
}

// stopControlPlanes empties the control-plane part of each control
// plane's plans: its files stay, nothing runs.
func stopControlPlanes(cps []*v1.Machine, plans map[string][]herdapi.Plan) {
	for _, m := range cps {
		var kept []herdapi.Plan
		for _, pl := range plans[m.Name] {
			switch {
			case slices.ContainsFunc(pl.Processes, func(pr herdapi.PlanProcess) bool { return pr.Name == "kube-apiserver" }):
				kept = append(kept, herdapi.Plan{Files: pl.Files})
			case slices.ContainsFunc(pl.Instructions, func(in herdapi.PlanInstruction) bool { return in.Name == snapshotInstruction }):
				// no snapshots while etcd is restored
			default:
				kept = append(kept, pl)
			}
		}
		plans[m.Name] = kept
	}
}

// apiServerWork are the instructions that talk to the cluster's
// kube-apiserver.
var apiServerWork = []string{"wait-apiserver", "import", "agent-token", "register-node", "kubelet-version"}

// withoutAPIServerWork takes what needs a kube-apiserver that answers (the
// cluster agent: the import, its token, its process; a worker's node
// registration) out of the control-plane machines' plans while their
// kube-apiservers are down or starting: the node agent runs a changed
// plan's instructions again, before its processes.
func withoutAPIServerWork(cps []*v1.Machine, plans map[string][]herdapi.Plan) {
	for _, m := range cps {
		for i, pl := range plans[m.Name] {
			pl.Instructions = slices.DeleteFunc(slices.Clone(pl.Instructions), func(in herdapi.PlanInstruction) bool {
				return slices.Contains(apiServerWork, in.Name)
			})
			pl.Processes = slices.DeleteFunc(slices.Clone(pl.Processes), func(pr herdapi.PlanProcess) bool { return pr.Name == "cluster-agent" })
			plans[m.Name][i] = pl
		}
	}
}

// replaceEtcdPart replaces the etcd part of a machine's plans (the plan
// that runs etcd, and the snapshot instruction) by with (nil: nothing).
func replaceEtcdPart(plans []herdapi.Plan, with *herdapi.Plan) []herdapi.Plan {
	var out []herdapi.Plan
	for _, pl := range plans {
		if slices.ContainsFunc(pl.Processes, func(pr herdapi.PlanProcess) bool { return pr.Name == "etcd" }) ||
			slices.ContainsFunc(pl.Instructions, func(in herdapi.PlanInstruction) bool { return in.Name == snapshotInstruction }) {
			continue
		}
		out = append(out, pl)
	}
	if with != nil {
		out = append(out, *with)
	}
	return out
}

// restoreEtcdPlan restores the snapshot into the stopped init member.
func restoreEtcdPlan(m *v1.Machine, rs *restoring, s3 *herdapi.Plan) *herdapi.Plan {
	s := rs.snap
	if s.Status.S3Location == "" {
		s3 = nil // a snapshot that is not in S3 is not looked for there
	}
	plan := withS3(herdapi.Plan{Instructions: []herdapi.PlanInstruction{{Name: restoreInstruction, Command: "herd", Args: []string{
		"etcd-snapshot", "restore", "--snapshot=" + snapshotDir + "/" + s.Name + ".db", "--sha256=" + s.Status.SHA256, "--name=" + m.Spec.Hostname,
		"--peer-url=" + fmt.Sprintf("http://%s:%d", m.Spec.Address, etcdPeerPort), "--data-dir=etcd-data", "--id=" + rs.r.Name,
	}}}}, s3)
	return &plan
}

// wipeEtcdPlan moves a stopped member's data aside (kept as
// etcd-data.before-restore), so that it joins the restored cluster anew.
func wipeEtcdPlan() *herdapi.Plan {
	return &herdapi.Plan{Instructions: []herdapi.PlanInstruction{{Name: "etcd-wipe", Command: "sh", Args: []string{"-c",
		"if [ -d etcd-data ]; then rm -rf etcd-data.before-restore && mv etcd-data etcd-data.before-restore; fi; rm -f etcd-initial-cluster"}}}}
}

// allRun reports whether each of ms runs (applied, succeeded) the plan
// this round gives it, and passes probe (if any); else what it waits for.
func (p *planner) allRun(ctx context.Context, ms []*v1.Machine, plans map[string][]herdapi.Plan, probe string) (bool, string, error) {
	for _, m := range ms {
		rev, err := machines.RevisionOf(merge(plans[m.Name]...))
		if err != nil {
			return false, "", err
		}
		var cur v1.Machine
		if err := p.api.Get(ctx, client.ObjectKey{Name: m.Name}, &cur); err != nil {
			return false, "", err
		}
		if cur.Status.AppliedRevision != rev || cur.Status.State != v1.PlanSucceeded {
			return false, fmt.Sprintf("machine %s: its node agent takes up its new plan (%s)", m.Spec.Hostname, cur.Status.State), nil
		}
		if probe != "" && !cur.Status.Probes[probe] {
			return false, fmt.Sprintf("machine %s: probe %s does not pass yet", m.Spec.Hostname, probe), nil
		}
	}
	return true, "", nil
}

func (p *planner) restoreWaits(ctx context.Context, r *v1.EtcdRestore, why string, err error) error {
	if err != nil {
		return err
	}
	st := r.Status
	st.Message = why
	return p.setRestore(ctx, r, st)
}

func (p *planner) setStep(ctx context.Context, r *v1.EtcdRestore, step, msg string) error {
	st := r.Status
	st.Step, st.Message = step, msg
	p.log.Info("etcd restore", "cluster", r.Spec.ClusterName, "restore", r.Name, "step", step)
	return p.setRestore(ctx, r, st)
}

func (p *planner) endRestore(ctx context.Context, r *v1.EtcdRestore, phase, msg string) error {
	st := r.Status
	now := metav1.Now()
	st.Phase, st.Message, st.FinishedAt = phase, msg, &now
	p.log.Info("etcd restore ended", "cluster", r.Spec.ClusterName, "restore", r.Name, "phase", phase, "message", msg)
	return p.setRestore(ctx, r, st)
}

func (p *planner) setRestore(ctx context.Context, r *v1.EtcdRestore, st v1.EtcdRestoreStatus) error {
	if len(st.Message) > 4000 {
		st.Message = st.Message[:4000]
	}
	if st == r.Status {
		return nil
	}
	patch := client.MergeFrom(r.DeepCopy())
	r.Status = st
	return client.IgnoreNotFound(p.c.Status().Patch(ctx, r, patch))
}
