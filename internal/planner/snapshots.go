package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/etcdsnapshot"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/wellknown"
)

// etcd snapshots: once a cluster's first snapshot is asked for, the plan
// of its init etcd member ends with one instruction, `herd etcd-snapshot
// sync`, whose arguments say which snapshot to take (the oldest pending,
// one at a time) and which to keep (those whose EtcdSnapshot exists); a
// new or deleted EtcdSnapshot changes them, so the node agent runs it
// again. Its output lists the files, from which each EtcdSnapshot's status
// is written.
const (
	snapshotInstruction = "etcd-snapshots"
	snapshotDir         = "snapshots"
	// keySnapshots marks, in the PKI Secret, a cluster that has had
	// snapshots: the instruction stays (to remove deleted ones) when the
	// last EtcdSnapshot goes.
	keySnapshots = "etcd-snapshots"
)

// snapshotWork is what the init member's snapshot instruction does now.
type snapshotWork struct {
	machine *v1.Machine
	take    string
	snaps   []v1.EtcdSnapshot
}

// planSnapshots adds the snapshot instruction to the init member's plan,
// if the cluster has had snapshots and the member serves.
func (p *planner) planSnapshots(ctx context.Context, c *v1.Cluster, pki map[string][]byte, etcd []*v1.Machine, plans map[string][]herdapi.Plan) (*snapshotWork, error) {
	i := slices.IndexFunc(etcd, func(m *v1.Machine) bool { return m.Name == string(pki[keyEtcdInit]) })
	if i < 0 || len(pki[stageEtcd+etcd[i].Name]) == 0 {
		return nil, nil
	}
	var list v1.EtcdSnapshotList
	if err := p.c.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		return nil, err
	}
	w := &snapshotWork{machine: etcd[i]}
	var keep []string
	for _, s := range list.Items {
		if s.Spec.ClusterName != c.Name || !slices.ContainsFunc(s.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == c.UID }) || !s.DeletionTimestamp.IsZero() {
			continue
		}
		w.snaps = append(w.snaps, s)
		switch s.Status.Phase {
		case v1.SnapshotSucceeded:
			keep = append(keep, s.Name)
		case "", v1.SnapshotPending:
			if w.take == "" || s.Name < w.take {
				w.take = s.Name
			}
		}
	}
	if len(w.snaps) == 0 && len(pki[keySnapshots]) == 0 {
		return nil, nil
	}
	if len(pki[keySnapshots]) == 0 {
		p.keep(ctx, c, pki, keySnapshots, "true")
	}
	slices.Sort(keep)
	args := []string{"etcd-snapshot", "sync", "--endpoint=" + etcdClientURL(w.machine), "--dir=" + snapshotDir,
		"--take=" + w.take, "--keep=" + strings.Join(keep, ",")}
	plans[w.machine.Name] = append(plans[w.machine.Name], herdapi.Plan{Instructions: []herdapi.PlanInstruction{
		{Name: snapshotInstruction, Command: "herd", Args: args},
	}})
	return w, nil
}

// recordSnapshots writes what the init member reported of plan (its
// current plan) into the EtcdSnapshots.
func (p *planner) recordSnapshots(ctx context.Context, c *v1.Cluster, w *snapshotWork, plan herdapi.Plan) error {
	rev, err := machines.RevisionOf(plan)
	m := w.machine
	if err != nil || m.Status.PlanRevision != rev {
		return err // not applied yet
	}
	if m.Status.State == v1.PlanFailed && m.Status.FailedInstruction == snapshotInstruction && m.Status.Failures >= 3 {
		return p.setSnapshot(ctx, w.take, v1.EtcdSnapshotStatus{Phase: v1.SnapshotFailed, Machine: m.Spec.Hostname,
			Message: "the etcd member's node agent failed to take it: " + lastLines(m.Status.Output, 5)})
	}
	if m.Status.State != v1.PlanSucceeded || m.Status.AppliedRevision != rev {
		return nil
	}
	report, ok := parseReport(m.Status.Output)
	if !ok {
		return fmt.Errorf("the snapshot instruction of machine %s printed no report", m.Name)
	}
	for _, s := range w.snaps {
		i := slices.IndexFunc(report.Files, func(f etcdsnapshot.File) bool { return f.Name == s.Name })
		switch {
		case i >= 0 && s.Status.Phase != v1.SnapshotSucceeded:
			f := report.Files[i]
			taken := metav1.NewTime(f.TakenAt)
			if err := p.setSnapshot(ctx, s.Name, v1.EtcdSnapshotStatus{Phase: v1.SnapshotSucceeded, Machine: m.Spec.Hostname,
				Location: snapshotDir + "/" + f.Name + ".db", Size: f.Size, SHA256: f.SHA256,
				KubernetesVersion: c.Spec.Provisioning.KubernetesVersion, TakenAt: &taken}); err != nil {
				return err
			}
		case i < 0 && s.Name == w.take:
			if err := p.setSnapshot(ctx, s.Name, v1.EtcdSnapshotStatus{Phase: v1.SnapshotFailed, Machine: m.Spec.Hostname,
				Message: "the snapshot is not on the machine after its node agent ran the instruction"}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *planner) setSnapshot(ctx context.Context, name string, st v1.EtcdSnapshotStatus) error {
	if name == "" {
		return nil
	}
	var s v1.EtcdSnapshot
	if err := p.c.Get(ctx, client.ObjectKey{Name: name}, &s); err != nil {
		return client.IgnoreNotFound(err)
	}
	patch := client.MergeFrom(s.DeepCopy())
	s.Status = st
	if err := p.c.Status().Patch(ctx, &s, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	p.log.Info("etcd snapshot", "cluster", s.Spec.ClusterName, "snapshot", name, "phase", st.Phase, "size", st.Size)
	return nil
}

// parseReport finds the report in an instruction's output (its last JSON
// line; etcd's client may log before it).
func parseReport(out string) (etcdsnapshot.Report, bool) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var r etcdsnapshot.Report
		if json.Unmarshal([]byte(lines[i]), &r) == nil && r.Files != nil {
			return r, true
		}
	}
	return etcdsnapshot.Report{}, false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// minSnapshotInterval bounds how often a schedule takes snapshots.
const minSnapshotInterval = time.Minute

// scheduledAt is when the schedule asked for a snapshot (RFC 3339).
const scheduledAt = "management.herd.dev/scheduled-at"

// schedule takes the cluster's next scheduled snapshot when the newest
// scheduled one is Interval old, deletes the scheduled ones beyond
// Retention (oldest first; the planner then removes their files), and
// returns when to look again (0: no schedule).
func (p *planner) schedule(ctx context.Context, c *v1.Cluster) (time.Duration, error) {
	sched := c.Spec.Provisioning.EtcdSnapshots
	if sched == nil || sched.Retention < 1 {
		return 0, nil
	}
	interval := max(sched.Interval.Duration, minSnapshotInterval)
	var list v1.EtcdSnapshotList
	if err := p.c.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name, v1.SnapshotScheduledLabel: "true"}); err != nil {
		return 0, err
	}
	snaps := slices.DeleteFunc(list.Items, func(s v1.EtcdSnapshot) bool {
		return !slices.ContainsFunc(s.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == c.UID }) || !s.DeletionTimestamp.IsZero()
	})
	at := func(s v1.EtcdSnapshot) time.Time {
		t, _ := time.Parse(time.RFC3339, s.Annotations[scheduledAt])
		return t
	}
	slices.SortFunc(snaps, func(a, b v1.EtcdSnapshot) int { return at(a).Compare(at(b)) })
	now := p.now()
	next := interval
	if len(snaps) > 0 {
		next = at(snaps[len(snaps)-1]).Add(interval).Sub(now)
	}
	if next <= 0 || len(snaps) == 0 {
		s := &v1.EtcdSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: etcdsnapshot.Name(c.Name, now, herdtoken.NewName("")[:5]),
				Annotations:     map[string]string{scheduledAt: now.UTC().Format(time.RFC3339)},
				Labels:          map[string]string{wellknown.ClusterLabel: c.Name, v1.SnapshotScheduledLabel: "true"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID}}},
			Spec: v1.EtcdSnapshotSpec{ClusterName: c.Name},
		}
		if err := p.c.Create(ctx, s); err != nil {
			return 0, err
		}
		p.log.Info("scheduled etcd snapshot", "cluster", c.Name, "snapshot", s.Name)
		snaps, next = append(snaps, *s), interval
	}
	for i := 0; i < len(snaps)-int(sched.Retention); i++ {
		if err := p.c.Delete(ctx, &snaps[i]); client.IgnoreNotFound(err) != nil {
			return 0, err
		}
		p.log.Info("scheduled etcd snapshot beyond retention deleted", "cluster", c.Name, "snapshot", snaps[i].Name)
	}
	return next, nil
}
