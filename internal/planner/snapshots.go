package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	s3      bool // the cluster stores snapshots in S3 too
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
		"--take=" + w.take, "--keep=" + strings.Join(keep, ","), "--s3-prefix=" + c.Name + "-"}
	s3, err := p.s3Plan(ctx, c)
	if err != nil {
		return nil, err
	}
	w.s3 = s3 != nil
	plans[w.machine.Name] = append(plans[w.machine.Name], withS3(herdapi.Plan{Instructions: []herdapi.PlanInstruction{
		{Name: snapshotInstruction, Command: "herd", Args: args},
	}}, s3))
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
		case i >= 0 && s.Status.Phase != v1.SnapshotSucceeded && s.Status.Phase != v1.SnapshotFailed:
			f := report.Files[i]
			taken := metav1.NewTime(f.TakenAt)
			st := v1.EtcdSnapshotStatus{Phase: v1.SnapshotSucceeded, Machine: m.Spec.Hostname,
				Location: snapshotDir + "/" + f.Name + ".db", S3Location: f.S3, Size: f.Size, SHA256: f.SHA256,
				KubernetesVersion: c.Spec.Provisioning.KubernetesVersion, TakenAt: &taken}
			if w.s3 && f.S3 == "" {
				st.Phase, st.Message = v1.SnapshotFailed, "taken on machine "+m.Spec.Hostname+" but not stored in S3: "+f.S3Error
			}
			if err := p.setSnapshot(ctx, s.Name, st); err != nil {
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

// s3Plan is what the snapshot and restore instructions need of the
// cluster's S3 store: their flags, the endpoint's CA as a plan file, the
// keys in their environment (from the store's Secret). Nil: no store.
func (p *planner) s3Plan(ctx context.Context, c *v1.Cluster) (*herdapi.Plan, error) {
	s := c.Spec.Provisioning.EtcdS3
	if s == nil {
		return nil, nil
	}
	var secret corev1.Secret
	err := p.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: s.CredentialsSecret}, &secret)
	if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	in := herdapi.PlanInstruction{
		Args: []string{"--s3-endpoint=" + s.Endpoint, "--s3-bucket=" + s.Bucket, "--s3-region=" + s.Region, "--s3-folder=" + s.Folder},
		Env:  []string{etcdsnapshot.EnvS3AccessKey + "=" + string(secret.Data["accessKey"]), etcdsnapshot.EnvS3SecretKey + "=" + string(secret.Data["secretKey"])},
	}
	out := &herdapi.Plan{Instructions: []herdapi.PlanInstruction{in}}
	if s.EndpointCA != "" {
		out.Files = []herdapi.PlanFile{{Path: s3CAFile, Content: []byte(s.EndpointCA)}}
		out.Instructions[0].Args = append(out.Instructions[0].Args, "--s3-ca-file="+s3CAFile)
	}
	if s.SkipTLSVerify {
		out.Instructions[0].Args = append(out.Instructions[0].Args, "--s3-skip-verify")
	}
	return out, nil
}

// s3CAFile is the S3 endpoint's CA on the etcd machine.
const s3CAFile = "etcd-s3-ca.pem"

// withS3 adds the S3 store (s3Plan; nil: none) to the instruction of plan.
func withS3(plan herdapi.Plan, s3 *herdapi.Plan) herdapi.Plan {
	if s3 == nil {
		return plan
	}
	plan.Files = append(plan.Files, s3.Files...)
	in := &plan.Instructions[len(plan.Instructions)-1]
	in.Args = append(in.Args, s3.Instructions[0].Args...)
	in.Env = append(in.Env, s3.Instructions[0].Env...)
	return plan
}
