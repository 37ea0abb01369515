package planner

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// fixture is a planner over a fake management cluster with cluster made
// (provisioned at v1.37.2).
type fixture struct {
	p      *planner
	c      client.Client
	issued int
}

func newFixture(t *testing.T, version string) *fixture {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	made := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "made", UID: "uid-made"},
		Spec: v1.ClusterSpec{Provisioning: &v1.ClusterProvisioning{KubernetesVersion: version}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.Cluster{}, &v1.Machine{}).WithObjects(made).Build()
	f := &fixture{c: c}
	f.p = &planner{c: c, api: c, now: time.Now, log: discard(), opts: Options{
		ServerURL: func() string { return "https://127.0.0.1:8443" }, CAChecksum: func() string { return strings.Repeat("ab", 32) },
		Versions: []string{"v1.37.2"},
		IssueRegistrationToken: func(ctx context.Context, cl *v1.Cluster) (string, *v1.ClusterRegistrationToken, error) {
			f.issued++
			now := f.p.now()
			crt := &v1.ClusterRegistrationToken{ObjectMeta: metav1.ObjectMeta{Name: herdtoken.NewName("crt-"), CreationTimestamp: metav1.NewTime(now)},
				Spec: v1.ClusterRegistrationTokenSpec{ClusterName: cl.Name, ExpiresAt: &metav1.Time{Time: now.Add(24 * time.Hour)}}}
			return herdtoken.Format(crt.Name, herdtoken.NewSecret()), crt, c.Create(ctx, crt)
		},
	}}
	return f
}

func (f *fixture) machine(t *testing.T, name, addr string, roles ...string) {
	t.Helper()
	m := &v1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.ClusterLabel: "made"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "management.herd.dev/v1", Kind: "Cluster", Name: "made", UID: "uid-made"}}},
		Spec: v1.MachineSpec{ClusterName: "made", Hostname: name, Address: addr, Roles: roles, CredentialHash: "x"}}
	if err := f.c.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// report is what the node agent of machine says: it applied its current
// plan, with these probes.
func (f *fixture) report(t *testing.T, name string, probes map[string]bool) {
	t.Helper()
	var m v1.Machine
	if err := f.c.Get(context.Background(), client.ObjectKey{Name: name}, &m); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(m.DeepCopy())
	m.Status.AppliedRevision, m.Status.State, m.Status.Probes = m.Status.PlanRevision, v1.PlanSucceeded, probes
	if err := f.c.Status().Patch(context.Background(), &m, patch); err != nil {
		t.Fatal(err)
	}
}

// step reconciles and returns the Provisioned condition's reason.
func (f *fixture) step(t *testing.T) string {
	t.Helper()
	if _, err := f.p.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: "made"}}); err != nil {
		t.Fatal(err)
	}
	var c v1.Cluster
	if err := f.c.Get(context.Background(), client.ObjectKey{Name: "made"}, &c); err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(c.Status.Conditions, v1.ClusterProvisioned)
	if cond == nil {
		t.Fatal("no Provisioned condition")
	}
	return cond.Reason
}

// processes names the processes of machine's plan ("" without one).
func (f *fixture) processes(t *testing.T, name string) string {
	t.Helper()
	var s corev1.Secret
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: wellknown.Namespace, Name: machines.PlanSecretName(name)}, &s); err != nil {
		return ""
	}
	var plan herdapi.Plan
	if err := json.Unmarshal(s.Data["plan.json"], &plan); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plan.Processes {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func TestTiers(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	steps := []struct {
		name       string
		do         func()
		reason     string
		cp, worker string // the processes of their plans
		wantIssued int
	}{
		{"no machines", func() {}, "WaitingForMachines", "", "", 0},
		{"machines register", func() {
			f.machine(t, "cp-1", "127.0.9.1", v1.RoleEtcd, v1.RoleControlPlane)
			f.machine(t, "worker-1", "127.0.9.2", v1.RoleWorker)
		}, "EtcdNotReady", "etcd", "", 0},
		{"etcd answers", func() { f.report(t, "cp-1", map[string]bool{"etcd": true}) },
			"ControlPlaneNotReady", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler", "", 0},
		{"etcd's probe fails for a moment: the control plane stays", func() { f.report(t, "cp-1", map[string]bool{"etcd": false}) },
			"ControlPlaneNotReady", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler", "", 0},
		{"the apiserver answers", func() { f.report(t, "cp-1", map[string]bool{"etcd": true, "apiserver": true}) },
			"MachinesNotReady", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler,cluster-agent", "kwok", 1},
		{"all applied", func() {
			f.report(t, "cp-1", map[string]bool{"etcd": true, "apiserver": true})
			f.report(t, "worker-1", nil)
		}, "Provisioned", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler,cluster-agent", "kwok", 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := f.step(t); got != st.reason {
				t.Errorf("reason %s, want %s", got, st.reason)
			}
			if got := f.processes(t, "cp-1"); got != st.cp {
				t.Errorf("cp-1 runs %q, want %q", got, st.cp)
			}
			if got := f.processes(t, "worker-1"); got != st.worker {
				t.Errorf("worker-1 runs %q, want %q", got, st.worker)
			}
			if f.issued != st.wantIssued {
				t.Errorf("registration tokens issued: %d, want %d", f.issued, st.wantIssued)
			}
		})
	}
	var pki corev1.Secret
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: wellknown.Namespace, Name: pkiSecret("made")}, &pki); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{fileCA, fileCAKey, fileAPIServer, fileSAKey, registrationKey, stageEtcd + "cp-1"} {
		if len(pki.Data[key]) == 0 {
			t.Errorf("the PKI Secret has no %s", key)
		}
	}
	if !slices.ContainsFunc(pki.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == "uid-made" }) {
		t.Error("the PKI Secret is not owned by its cluster")
	}
}

func TestUnknownVersion(t *testing.T) {
	f := newFixture(t, "v1.20.0")
	f.machine(t, "cp-1", "127.0.9.1", v1.RoleEtcd, v1.RoleControlPlane)
	if got := f.step(t); got != "UnknownVersion" {
		t.Errorf("reason %s, want UnknownVersion", got)
	}
	if got := f.processes(t, "cp-1"); got != "" {
		t.Errorf("a plan for an unknown version: %q", got)
	}
}

// TestRegistrationTokenRenewed: the cluster agent's registration token is
// renewed at half its lifetime, or when it is gone, in a plan file: the
// agent's process is the same (a renewal restarts no agent), and a new
// agent on another machine can still register.
func TestRegistrationTokenRenewed(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	f.machine(t, "cp-1", "127.0.9.1", v1.RoleEtcd, v1.RoleControlPlane)
	for range 3 {
		f.step(t)
		f.report(t, "cp-1", map[string]bool{"etcd": true, "apiserver": true})
	}
	f.step(t)
	plan := func() herdapi.Plan {
		var s corev1.Secret
		if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: wellknown.Namespace, Name: machines.PlanSecretName("cp-1")}, &s); err != nil {
			t.Fatal(err)
		}
		var p herdapi.Plan
		if err := json.Unmarshal(s.Data["plan.json"], &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile := func(p herdapi.Plan) string {
		for _, file := range p.Files {
			if file.Path == "registration-token" {
				return strings.TrimSpace(string(file.Content))
			}
		}
		return ""
	}
	agent := func(p herdapi.Plan) string {
		for _, proc := range p.Processes {
			if proc.Name == "cluster-agent" {
				data, _ := json.Marshal(proc)
				return string(data)
			}
		}
		return ""
	}
	first := plan()
	if f.issued != 1 || tokenFile(first) == "" || agent(first) == "" {
		t.Fatalf("issued %d, token file %q, agent %q: want one token, in a file, and the agent", f.issued, tokenFile(first), agent(first))
	}
	if strings.Contains(agent(first), tokenFile(first)) {
		t.Error("the registration token is in the agent's command or environment")
	}
	start := time.Now()
	for _, c := range []struct {
		after   time.Duration
		issued  int
		renewed bool
	}{
		{11 * time.Hour, 1, false},
		{13 * time.Hour, 2, true},  // past half of 24 h
		{14 * time.Hour, 2, false}, // the new one is fresh
	} {
		f.p.now = func() time.Time { return start.Add(c.after) }
		before := tokenFile(plan())
		f.step(t)
		after := plan()
		if f.issued != c.issued || (tokenFile(after) != before) != c.renewed {
			t.Errorf("after %s: issued %d (want %d), renewed %v (want %v)", c.after, f.issued, c.issued, tokenFile(after) != before, c.renewed)
		}
		if agent(after) != agent(first) {
			t.Errorf("after %s: the agent's process changed: %s", c.after, agent(after))
		}
	}
	name, _, _ := herdtoken.Parse(tokenFile(plan()))
	if err := f.c.Delete(context.Background(), &v1.ClusterRegistrationToken{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	f.step(t)
	if f.issued != 3 || tokenFile(plan()) == "" {
		t.Errorf("a deleted token: issued %d, want 3", f.issued)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestEtcdJoinsOneAtATime: the second etcd member joins once the first
// serves, the third once the second does; the control planes list every
// member from the start (no restart as members join).
func TestEtcdJoinsOneAtATime(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	var cp1 []herdapi.Plan // the first machine's plan after each step
	for i, addr := range []string{"127.0.9.1", "127.0.9.2", "127.0.9.3"} {
		f.machine(t, "cp-"+string(rune('1'+i)), addr, v1.RoleEtcd, v1.RoleControlPlane)
	}
	for _, st := range []struct {
		name            string
		do              func()
		one, two, three string
	}{
		{"the first member starts", func() {}, "etcd", "", ""},
		{"the first serves: the second joins, control planes start", func() { f.report(t, "cp-1", map[string]bool{"etcd": true}) },
			"etcd,kube-apiserver,kube-controller-manager,kube-scheduler", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler",
			"kube-apiserver,kube-controller-manager,kube-scheduler"},
		{"the second serves: the third joins", func() { f.report(t, "cp-2", map[string]bool{"etcd": true}) },
			"etcd,kube-apiserver,kube-controller-manager,kube-scheduler", "etcd,kube-apiserver,kube-controller-manager,kube-scheduler",
			"etcd,kube-apiserver,kube-controller-manager,kube-scheduler"},
	} {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			defer func() { cp1 = append(cp1, f.plan(t, "cp-1")) }()
			if got := f.step(t); got != "EtcdNotReady" && got != "ControlPlaneNotReady" {
				t.Errorf("reason %s", got)
			}
			for name, want := range map[string]string{"cp-1": st.one, "cp-2": st.two, "cp-3": st.three} {
				if got := f.processes(t, name); got != want {
					t.Errorf("%s runs %q, want %q", name, got, want)
				}
			}
		})
	}
	if len(cp1) == 3 && !reflect.DeepEqual(cp1[1], cp1[2]) {
		t.Errorf("the first machine's plan changed as the third member joined:\n%+v\n%+v", cp1[1], cp1[2])
	}
	plan := f.plan(t, "cp-3")
	if len(plan.Instructions) == 0 || !slices.Contains(plan.Instructions[0].Args, "--endpoints=http://127.0.9.1:2379,http://127.0.9.2:2379") {
		t.Errorf("the third member joins through %v, want the two serving members", plan.Instructions)
	}
	for _, p := range plan.Processes {
		if p.Name == "kube-apiserver" && !slices.Contains(p.Args, "--etcd-servers=http://127.0.9.1:2379,http://127.0.9.2:2379,http://127.0.9.3:2379") {
			t.Errorf("kube-apiserver args %v, want every member", p.Args)
		}
	}
}

func (f *fixture) plan(t *testing.T, name string) herdapi.Plan {
	t.Helper()
	var s corev1.Secret
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: wellknown.Namespace, Name: machines.PlanSecretName(name)}, &s); err != nil {
		t.Fatal(err)
	}
	var plan herdapi.Plan
	if err := json.Unmarshal(s.Data["plan.json"], &plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestEtcdInitStays: the machine that started etcd stays its init member
// when a machine that sorts before it registers later (machines register
// at once and in any order); the newcomer joins once the init serves.
func TestEtcdInitStays(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	f.machine(t, "cp-b", "127.0.9.2", v1.RoleEtcd, v1.RoleControlPlane)
	f.step(t)
	first := f.plan(t, "cp-b")
	f.machine(t, "cp-a", "127.0.9.1", v1.RoleEtcd, v1.RoleControlPlane)
	f.step(t)
	if got := f.plan(t, "cp-b"); !reflect.DeepEqual(got, first) {
		t.Errorf("the init member's plan changed when another machine registered:\n%+v\n%+v", first, got)
	}
	if got := f.processes(t, "cp-a"); got != "" {
		t.Errorf("the newcomer runs %q before the init member serves, want nothing", got)
	}
	f.report(t, "cp-b", map[string]bool{"etcd": true})
	f.step(t)
	plan := f.plan(t, "cp-a")
	if len(plan.Instructions) == 0 || !slices.Contains(plan.Instructions[0].Args, "--endpoints=http://127.0.9.2:2379") {
		t.Errorf("the newcomer joins through %+v, want the init member", plan.Instructions)
	}
}

// TestSnapshotSchedule: a schedule takes a snapshot at once, the next one
// an interval after the newest scheduled one, and keeps the newest
// Retention of them; snapshots saved on demand are left alone.
func TestSnapshotSchedule(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	ctx := context.Background()
	var c v1.Cluster
	if err := f.c.Get(ctx, client.ObjectKey{Name: "made"}, &c); err != nil {
		t.Fatal(err)
	}
	c.Spec.Provisioning.EtcdSnapshots = &v1.EtcdSnapshotSchedule{Interval: metav1.Duration{Duration: time.Hour}, Retention: 2}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.p.now = func() time.Time { return now }
	owner := []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: "made", UID: c.UID}}
	onDemand := &v1.EtcdSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "made-20260101-000000-aaaaa", OwnerReferences: owner,
		Labels: map[string]string{wellknown.ClusterLabel: "made"}}, Spec: v1.EtcdSnapshotSpec{ClusterName: "made"}}
	if err := f.c.Create(ctx, onDemand); err != nil {
		t.Fatal(err)
	}
	count := func() (scheduled int, all int) {
		var list v1.EtcdSnapshotList
		if err := f.c.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			if s.Labels[v1.SnapshotScheduledLabel] == "true" {
				scheduled++
			}
		}
		return scheduled, len(list.Items)
	}
	for _, st := range []struct {
		advance   time.Duration
		scheduled int
		next      time.Duration
	}{
		{0, 1, time.Hour},                       // the first at once
		{30 * time.Minute, 1, 30 * time.Minute}, // not yet
		{30 * time.Minute, 2, time.Hour},        // an hour after the first
		{time.Hour, 2, time.Hour},               // a third, the first deleted
		{3 * time.Hour, 2, time.Hour},           // late: one, not three
	} {
		now = now.Add(st.advance)
		next, err := f.p.schedule(ctx, &c)
		if err != nil {
			t.Fatal(err)
		}
		scheduled, all := count()
		if scheduled != st.scheduled || all != scheduled+1 || next != st.next {
			t.Errorf("at %s: %d scheduled of %d, next in %s; want %d scheduled and the one on demand, next in %s",
				now.Format(time.Kitchen), scheduled, all, next, st.scheduled, st.next)
		}
	}
}
