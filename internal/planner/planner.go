// Package planner brings up provisioned clusters: for a Cluster with
// spec.provisioning it writes the plan of each machine that registered
// with the cluster's registration token, tier by tier, as Rancher's planner
// does: the etcd member first, then the control planes once etcd answers
// their probe, then the workers once a control plane does. A control
// plane, once its kube-apiserver answers, also gets the import manifest
// applied and the cluster agent run, so that the cluster connects to Herd
// like an imported one. The Cluster's Provisioned condition says which
// tier waits for which machine and why. It runs on the leader.
//
// etcd members join one at a time (`herd etcd-join` adds each before it
// starts). Limits of this first planner: workers are simulated nodes
// (kwok), since a machine's loopback address cannot be a kubelet's node
// address, and etcd speaks plain HTTP on the machines' own addresses.
package planner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/clustercond"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/wellknown"
)

// Options configure the planner.
type Options struct {
	// ServerURL is how the cluster agent reaches Herd (read when needed:
	// the server may not listen yet when the planner is set up).
	ServerURL func() string
	// CAChecksum pins Herd's CA (read when needed, as ServerURL).
	CAChecksum func() string
	// AgentImage is the import manifest's image. Empty: the default.
	AgentImage string
	// IssueRegistrationToken makes a registration token of a cluster for
	// its cluster agent (clusters.Registrar.IssueRegistrationToken).
	IssueRegistrationToken func(ctx context.Context, c *v1.Cluster) (string, *v1.ClusterRegistrationToken, error)
	// Versions are the Kubernetes versions Herd provisions.
	Versions []string
	// Kube is a client of a downstream cluster, through Herd's way to it
	// (clusters.Manager.Kube), to drain workers for an upgrade. Nil:
	// workers are upgraded without a drain.
	Kube func(ctx context.Context, cluster string) (kubernetes.Interface, error)
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// Setup registers the planner with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &planner{c: mgr.GetClient(), api: mgr.GetAPIReader(), now: time.Now, opts: opts, log: opts.Logger.With("controller", "planner")}
	toCluster := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.(*v1.Machine).Spec.ClusterName}}}
	})
	snapshotCluster := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.(*v1.EtcdSnapshot).Spec.ClusterName}}}
	})
	restoreCluster := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.(*v1.EtcdRestore).Spec.ClusterName}}}
	})
	skip := true
	return ctrl.NewControllerManagedBy(mgr).Named("planner").For(&v1.Cluster{}).
		WithOptions(controller.Options{SkipNameValidation: &skip}).
		Watches(&v1.Machine{}, toCluster).Watches(&v1.EtcdSnapshot{}, snapshotCluster).Watches(&v1.EtcdRestore{}, restoreCluster).Complete(p)
}

type planner struct {
	c    client.Client
	api  client.Reader
	now  func() time.Time
	opts Options
	log  *slog.Logger
}

// verdict is the Provisioned condition.
type verdict struct {
	ok      bool
	reason  string
	message string
}

func waiting(reason, format string, args ...any) verdict {
	return verdict{reason: reason, message: fmt.Sprintf(format, args...)}
}

// Reconcile plans one provisioned cluster.
func (p *planner) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var c v1.Cluster
	if err := p.c.Get(ctx, req.NamespacedName, &c); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if c.Spec.Provisioning == nil || !c.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	v, up, err := p.plan(ctx, &c)
	if err != nil {
		return reconcile.Result{}, err
	}
	after := requeue(v)
	if up != nil {
		if err := p.setCondition(ctx, &c, v1.ClusterUpgraded, up.verdict); err != nil {
			return reconcile.Result{}, err
		}
		if !up.verdict.ok && up.verdict.reason == "Upgrading" {
			after = upgradeRequeue
		}
	}
	if v.ok {
		next, err := p.schedule(ctx, &c)
		if err != nil {
			p.log.Warn("cannot keep the etcd snapshot schedule", "cluster", c.Name, "err", err)
		}
		if next > 0 && (after == 0 || next < after) {
			after = next
		}
	}
	return reconcile.Result{RequeueAfter: after}, p.setCondition(ctx, &c, v1.ClusterProvisioned, v)
}

func requeue(v verdict) time.Duration {
	if v.ok {
		return 0
	}
	if v.reason == "Restoring" {
		return restoreRequeue
	}
	return 10 * time.Second
}

// plan writes the plans that the cluster's machines are ready for.
func (p *planner) plan(ctx context.Context, c *v1.Cluster) (verdict, *upgrade, error) {
	if !slices.Contains(p.opts.Versions, c.Spec.Provisioning.KubernetesVersion) {
		return waiting("UnknownVersion", "Kubernetes %q cannot be provisioned; supported: %s",
			c.Spec.Provisioning.KubernetesVersion, strings.Join(p.opts.Versions, ", ")), nil, nil
	}
	ms, err := p.machines(ctx, c)
	if err != nil {
		return verdict{}, nil, err
	}
	etcd, cps, workers := byRole(ms, v1.RoleEtcd), byRole(ms, v1.RoleControlPlane), byRole(ms, v1.RoleWorker)
	if len(etcd) == 0 || len(cps) == 0 {
		return waiting("WaitingForMachines", "%d etcd and %d control-plane machines registered; run `herd node-agent --roles etcd,control-plane` "+
			"with the cluster's registration token on at least one machine", len(etcd), len(cps)), nil, nil
	}
	var ips []string
	for _, m := range cps {
		ips = append(ips, m.Spec.Address)
	}
	pki, err := p.pki(ctx, c, ips)
	if err != nil {
		return verdict{}, nil, err
	}
	plans := map[string][]herdapi.Plan{}
	servers, etcdWaits := p.etcdTier(ctx, c, pki, etcd, plans)
	v := verdict{}
	if etcdWaits != nil {
		v = *etcdWaits
	}
	var up *upgrade
	if len(servers) > 0 {
		if up, err = p.versions(ctx, c, pki, cps, workers); err != nil {
			return verdict{}, nil, err
		}
		// Control planes list every etcd member, joined or not: etcd's
		// client uses the members that answer, and a member that joins
		// later does not restart every kube-apiserver.
		var all []string
		for _, m := range etcd {
			all = append(all, etcdClientURL(m))
		}
		slices.Sort(all)
		v = p.tiers(ctx, c, pki, all, cps, workers, up.version, plans)
	}
	snaps, err := p.planSnapshots(ctx, c, pki, etcd, plans)
	if err != nil {
		return verdict{}, nil, err
	}
	if len(servers) > 0 {
		rv, err := p.restore(ctx, c, pki, etcd, cps, up, plans)
		if err != nil {
			return verdict{}, nil, err
		}
		if rv != nil {
			v, snaps, etcdWaits = *rv, nil, nil
		}
	}
	for _, m := range ms {
		// A machine deleted meanwhile (scaled down) needs no plan.
		if err := p.write(ctx, m, merge(plans[m.Name]...)); client.IgnoreNotFound(err) != nil {
			return verdict{}, nil, err
		}
	}
	if snaps != nil {
		if err := p.recordSnapshots(ctx, c, snaps, merge(plans[snaps.machine.Name]...)); err != nil {
			p.log.Warn("cannot record etcd snapshots", "cluster", c.Name, "err", err)
		}
	}
	if v.ok && etcdWaits != nil {
		return *etcdWaits, up, nil
	}
	return v, up, nil
}

// tiers adds the plans of the control planes, on etcdServers, and of the
// workers once a control plane answers, and says what waits. A tier once
// reached stays planned (kept in the PKI Secret as a stage): a probe that
// fails for a moment, or a machine taking up a new revision, does not take
// a running tier's plan away.
func (p *planner) tiers(ctx context.Context, c *v1.Cluster, pki map[string][]byte, etcdServers []string, cps, workers []*v1.Machine,
	versions map[string]string, plans map[string][]herdapi.Plan) verdict {
	var ready *v1.Machine
	for _, m := range cps {
		cp := controlPlanePlan(m, pki, etcdServers, versions[m.Name])
		// The cluster agent runs on the first control plane that answered,
		// alone: agents on several control planes would each register their
		// own kube-apiserver, and there is no endpoint in front of them all.
		if ready == nil && p.reached(ctx, c, pki, stageAgent+m.Name, healthy(m, "apiserver")) {
			withAgent, err := p.clusterAgent(ctx, c, cp, m, pki)
			if err != nil {
				p.log.Error("cannot plan the cluster agent", "cluster", c.Name, "err", err)
			} else {
				cp = withAgent
			}
			ready = m
		}
		plans[m.Name] = append(plans[m.Name], cp)
	}
	if ready == nil {
		return waiting("ControlPlaneNotReady", "kube-apiserver on machine %s (%s): %s", cps[0].Spec.Hostname, cps[0].Name, state(cps[0], "apiserver"))
	}
	for i, m := range workers {
		wp, err := workerPlan(m, pki, ready.Spec.Address, versions[m.Name], i)
		if err != nil {
			return waiting("InvalidMachine", "machine %s: %v", m.Name, err)
		}
		plans[m.Name] = append(plans[m.Name], wp)
	}
	for _, m := range append(slices.Clone(cps), workers...) {
		if m.Status.State != v1.PlanSucceeded || m.Status.AppliedRevision != m.Status.PlanRevision {
			return waiting("MachinesNotReady", "machine %s (%s): plan %s", m.Spec.Hostname, m.Name, state(m, ""))
		}
	}
	return verdict{ok: true, reason: "Provisioned", message: fmt.Sprintf("%d machines run their plans", len(cps)+len(workers))}
}

// Stages of a provisioned cluster, kept in its PKI Secret.
const (
	stageEtcd  = "stage-etcd-"
	stageAgent = "stage-agent-"
	// keyEtcdInit names the machine that started etcd; keyEtcdJoin+MACHINE
	// the endpoints a member joined through.
	keyEtcdInit = "etcd-init"
	keyEtcdJoin = "etcd-join-"
)

// reached reports whether stage was reached before or is now (now), and
// keeps it.
func (p *planner) reached(ctx context.Context, c *v1.Cluster, pki map[string][]byte, stage string, now bool) bool {
	if len(pki[stage]) > 0 {
		return true
	}
	if !now {
		return false
	}
	pki[stage] = []byte(time.Now().UTC().Format(time.RFC3339))
	if err := p.storePKI(ctx, c, pki); err != nil {
		p.log.Warn("failed to keep a stage of a provisioned cluster", "cluster", c.Name, "stage", stage, "err", err)
	}
	return true
}

// clusterAgent adds the import and the cluster agent to a control plane's
// plan, with a registration token kept in the cluster's PKI Secret.
func (p *planner) clusterAgent(ctx context.Context, c *v1.Cluster, cp herdapi.Plan, m *v1.Machine, pki map[string][]byte) (herdapi.Plan, error) {
	token, err := p.registrationToken(ctx, c, pki)
	if err != nil {
		return cp, err
	}
	serverURL := p.opts.ServerURL()
	checksum := p.opts.CAChecksum()
	manifest, err := importmanifest.Render(importmanifest.Params{ServerURL: serverURL, Token: token, CAChecksum: checksum,
		ClusterName: c.Name, ClusterUID: string(c.UID), Image: p.opts.AgentImage})
	if err != nil {
		return cp, err
	}
	return withClusterAgent(cp, m, pki, manifest, serverURL, checksum, token), nil
}

// healthy reports whether m applied its current plan and passes probe.
func healthy(m *v1.Machine, probe string) bool {
	st := m.Status
	return st.PlanRevision != "" && st.AppliedRevision == st.PlanRevision && st.State == v1.PlanSucceeded && st.Probes[probe]
}

// state says where m is with its plan.
func state(m *v1.Machine, probe string) string {
	st := m.Status
	switch {
	case st.PlanRevision == "":
		return "no plan yet"
	case st.State == v1.PlanFailed && st.AppliedRevision == st.PlanRevision:
		return fmt.Sprintf("instruction %s failed %d times: %s", st.FailedInstruction, st.Failures, lastLine(st.Output))
	case st.AppliedRevision != st.PlanRevision:
		return "its node agent has not taken up the plan yet"
	case st.State != v1.PlanSucceeded:
		return "applying its plan (" + st.State + ")"
	case probe != "" && !st.Probes[probe]:
		return "probe " + probe + " fails"
	}
	return "ready"
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// machines lists the cluster's machines (of this UID), oldest first.
func (p *planner) machines(ctx context.Context, c *v1.Cluster) ([]*v1.Machine, error) {
	var list v1.MachineList
	if err := p.c.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		return nil, err
	}
	var out []*v1.Machine
	for i := range list.Items {
		m := &list.Items[i]
		if m.DeletionTimestamp.IsZero() && slices.ContainsFunc(m.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == c.UID }) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(x, y *v1.Machine) int {
		if d := x.CreationTimestamp.Compare(y.CreationTimestamp.Time); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, nil
}

func byRole(ms []*v1.Machine, role string) []*v1.Machine {
	var out []*v1.Machine
	for _, m := range ms {
		if slices.Contains(m.Spec.Roles, role) {
			out = append(out, m)
		}
	}
	return out
}

// pkiSecret names a cluster's PKI Secret in herd-system.
func pkiSecret(cluster string) string { return "cluster-pki-" + cluster }

// registrationKey keeps, in the PKI Secret, the cluster agent's
// registration token (renewed at half its lifetime).
const registrationKey = "registration-token"

// pki returns the cluster's PKI, made or completed and stored.
func (p *planner) pki(ctx context.Context, c *v1.Cluster, ips []string) (map[string][]byte, error) {
	var s corev1.Secret
	err := p.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: pkiSecret(c.Name)}, &s)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	data := s.Data
	if data == nil {
		data = map[string][]byte{}
	}
	changed, err := ensurePKI(data, ips)
	if err != nil || !changed {
		return data, err
	}
	return data, p.storePKI(ctx, c, data)
}

func (p *planner) storePKI(ctx context.Context, c *v1.Cluster, data map[string][]byte) error {
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: pkiSecret(c.Name), Namespace: wellknown.Namespace,
			Labels:          wellknown.ManagedLabels(map[string]string{wellknown.ClusterLabel: c.Name}),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID}}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	//nolint:staticcheck // server-side apply of a typed object
	return p.c.Patch(ctx, s, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership)
}

// registrationToken returns the cluster agent's registration token, made
// once and kept in the PKI Secret (pki, its data).
func (p *planner) registrationToken(ctx context.Context, c *v1.Cluster, pki map[string][]byte) (string, error) {
	if tok := string(pki[registrationKey]); tok != "" && p.fresh(ctx, c, tok) {
		return tok, nil
	}
	tok, _, err := p.opts.IssueRegistrationToken(ctx, c)
	if err != nil {
		return "", err
	}
	pki[registrationKey] = []byte(tok)
	return tok, p.storePKI(ctx, c, pki)
}

// fresh reports whether the registration token is live and has more than
// half its lifetime left. A cluster agent registers when it starts, also
// on another control plane long after the cluster was made (its machine
// replaced): the token it is given must still be good then. A lookup
// that fails keeps the token (the next reconcile looks again).
func (p *planner) fresh(ctx context.Context, c *v1.Cluster, token string) bool {
	name, _, err := herdtoken.Parse(token)
	if err != nil {
		return false
	}
	var crt v1.ClusterRegistrationToken
	if err := p.c.Get(ctx, client.ObjectKey{Name: name}, &crt); err != nil {
		return !apierrors.IsNotFound(err)
	}
	if crt.Spec.ClusterName != c.Name || !crt.DeletionTimestamp.IsZero() {
		return false
	}
	if crt.Spec.ExpiresAt == nil {
		return true
	}
	renew := crt.Spec.ExpiresAt.Time
	if !crt.CreationTimestamp.IsZero() {
		renew = renew.Add(-crt.Spec.ExpiresAt.Sub(crt.CreationTimestamp.Time) / 2)
	}
	if !p.now().Before(renew) {
		p.log.Info("renewing the cluster agent's registration token", "cluster", c.Name, "token", name, "expires", crt.Spec.ExpiresAt.UTC())
		return false
	}
	return true
}

// write stores m's plan when it changed.
func (p *planner) write(ctx context.Context, m *v1.Machine, plan herdapi.Plan) error {
	if len(plan.Files)+len(plan.Instructions)+len(plan.Processes)+len(plan.Probes) == 0 {
		return nil
	}
	current, err := machines.CurrentRevision(ctx, p.api, m)
	if err != nil {
		return err
	}
	if rev, err := machines.RevisionOf(plan); err != nil || rev == current {
		return err
	}
	_, err = machines.WritePlan(ctx, p.c, m, plan)
	if err == nil {
		p.log.Info("plan written", "cluster", m.Spec.ClusterName, "machine", m.Name, "hostname", m.Spec.Hostname)
	}
	return err
}

// setCondition records v as the Cluster's condition typ (Provisioned,
// Upgraded), by server-side apply as the planner, so that the conditions
// others own stay.
func (p *planner) setCondition(ctx context.Context, c *v1.Cluster, typ string, v verdict) error {
	status := metav1.ConditionFalse
	if v.ok {
		status = metav1.ConditionTrue
	}
	return clustercond.Set(ctx, p.c, c, fieldOwner, metav1.Condition{Type: typ, Status: status, Reason: v.reason, Message: v.message})
}

// fieldOwner owns the Provisioned condition.
const fieldOwner = "herd-planner"
