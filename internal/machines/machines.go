// Package machines registers the machines of a cluster and serves each
// machine's plan to its node agent, the way Rancher's system agent gets
// its plans: a node agent registers with the cluster's registration token
// (its roles, hostname, address, labels and taints) and gets a credential
// of its own, which reads only its own machine's plan and writes only its
// machine's status. Plans are Secrets (herd-system/plan-<machine>, owned by
// the Machine) that the planner writes with WritePlan; their revision is
// the sha256 of their content.
package machines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// Errors of the operations. What follows the package prefix in an
// error's message is safe to show to the node agent.
var (
	// ErrUnauthorized: a registration token or machine credential that is
	// not (or no longer) valid. The reason is logged, never answered.
	ErrUnauthorized = errors.New("machines: unauthorized")
	// ErrInvalid: a bad registration or status report.
	ErrInvalid = errors.New("machines: invalid request")
	// ErrExists: the cluster has a machine of that hostname.
	ErrExists = errors.New("machines: hostname taken")
	// ErrTooMany: the cluster has MaxPerCluster machines.
	ErrTooMany = errors.New("machines: too many machines")
)

// Bounds of what a node agent sends.
const (
	maxLabels    = 64
	maxTaints    = 32
	maxProbes    = 32
	maxOutput    = 16 << 10
	planKey      = "plan.json"
	machinePrefx = "m-"
)

// Config configures Machines. Client, Cache, API and
// VerifyRegistrationToken are required.
type Config struct {
	// Client writes; Cache reads the informer cache; API reads uncached
	// (Secrets).
	Client client.Client
	Cache  client.Reader
	API    client.Reader
	// VerifyRegistrationToken checks a cluster registration token and
	// returns its cluster (clusters.Registrar.VerifyRegistrationToken).
	VerifyRegistrationToken func(ctx context.Context, token string) (*v1.ClusterRegistrationToken, *v1.Cluster, error)
	// MaxPerCluster bounds a cluster's machines. Zero: 1000.
	MaxPerCluster int
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// Machines registers machines and serves their plans.
type Machines struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns Machines.
func New(cfg Config) (*Machines, error) {
	if cfg.Client == nil || cfg.Cache == nil || cfg.API == nil || cfg.VerifyRegistrationToken == nil {
		return nil, errors.New("machines: Client, Cache, API and VerifyRegistrationToken are required")
	}
	if cfg.MaxPerCluster == 0 {
		cfg.MaxPerCluster = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Machines{cfg: cfg, log: cfg.Logger}, nil
}

// Register makes a Machine for the node agent that holds registration
// token bearer, and returns its credential.
func (m *Machines) Register(ctx context.Context, bearer string, req herdapi.NodeRegistration) (*herdapi.NodeRegistered, error) {
	crt, cluster, err := m.cfg.VerifyRegistrationToken(ctx, bearer)
	if err != nil {
		m.log.Info("node registration refused", "err", err)
		return nil, ErrUnauthorized
	}
	if err := checkRegistration(&req); err != nil {
		return nil, err
	}
	var list v1.MachineList
	if err := m.cfg.Cache.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return nil, err
	}
	if len(list.Items) >= m.cfg.MaxPerCluster {
		return nil, fmt.Errorf("%w: cluster %s has %d machines, the most it may have", ErrTooMany, cluster.Name, len(list.Items))
	}
	for _, other := range list.Items {
		if other.Spec.Hostname == req.Hostname {
			return nil, fmt.Errorf("%w: cluster %s has a machine %s named %s; delete it first, or keep the node agent's root folder, which holds its credential",
				ErrExists, cluster.Name, other.Name, req.Hostname)
		}
	}
	secret := herdtoken.NewSecret()
	machine := &v1.Machine{
		ObjectMeta: metav1.ObjectMeta{
			Name:            herdtoken.NewName(machinePrefx),
			Labels:          wellknown.ManagedLabels(map[string]string{wellknown.ClusterLabel: cluster.Name}),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID}},
		},
		Spec: v1.MachineSpec{
			ClusterName: cluster.Name, Roles: req.Roles, Hostname: req.Hostname, Address: req.Address,
			Labels: req.Labels, Taints: req.Taints, CredentialHash: herdtoken.Hash(secret), RegistrationToken: crt.Name,
		},
	}
	if err := m.cfg.Client.Create(ctx, machine); err != nil {
		return nil, err
	}
	store.Await(ctx, m.cfg.Cache, machine, false, m.log)
	m.log.Info("machine registered", "cluster", cluster.Name, "machine", machine.Name, "hostname", req.Hostname, "roles", req.Roles)
	return &herdapi.NodeRegistered{MachineName: machine.Name, ClusterName: cluster.Name, Credential: herdtoken.Format(machine.Name, secret)}, nil
}

// checkRegistration returns what is wrong with req.
func checkRegistration(req *herdapi.NodeRegistration) error {
	if len(req.Roles) == 0 || len(req.Roles) > 3 {
		return fmt.Errorf("%w: roles must be one or more of etcd, control-plane, worker", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, r := range req.Roles {
		if r != v1.RoleEtcd && r != v1.RoleControlPlane && r != v1.RoleWorker || seen[r] {
			return fmt.Errorf("%w: role %.40q: roles must be one or more of etcd, control-plane, worker, each once", ErrInvalid, r)
		}
		seen[r] = true
	}
	slices.Sort(req.Roles)
	if errs := validation.IsDNS1123Subdomain(req.Hostname); len(errs) > 0 {
		return fmt.Errorf("%w: hostname %.64q: %s", ErrInvalid, req.Hostname, strings.Join(errs, "; "))
	}
	if _, err := netip.ParseAddr(req.Address); err != nil || len(req.Address) > 45 {
		return fmt.Errorf("%w: address %.64q is not an IP address", ErrInvalid, req.Address)
	}
	if len(req.Labels) > maxLabels || len(req.Taints) > maxTaints {
		return fmt.Errorf("%w: at most %d labels and %d taints", ErrInvalid, maxLabels, maxTaints)
	}
	for k, v := range req.Labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			return fmt.Errorf("%w: label %.64q: %s", ErrInvalid, k, strings.Join(errs, "; "))
		}
	}
	for _, t := range req.Taints {
		if err := checkTaint(t); err != nil {
			return err
		}
	}
	return nil
}

// checkTaint accepts "key[=value]:Effect".
func checkTaint(t string) error {
	kv, effect, ok := strings.Cut(t, ":")
	k, val, _ := strings.Cut(kv, "=")
	switch {
	case !ok || effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute":
		return fmt.Errorf("%w: taint %.64q must be key[=value]:NoSchedule|PreferNoSchedule|NoExecute", ErrInvalid, t)
	case len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(val)) > 0:
		return fmt.Errorf("%w: taint %.64q has an invalid key or value", ErrInvalid, t)
	}
	return nil
}

// machine returns the Machine whose credential is bearer.
func (m *Machines) machine(ctx context.Context, bearer string) (*v1.Machine, error) {
	machine, err := Authenticate(ctx, m.cfg.Cache, bearer)
	if err != nil {
		m.log.Info("machine credential refused", "err", err)
		return nil, ErrUnauthorized
	}
	return machine, nil
}

// Authenticate returns the Machine (read from cache) whose credential is
// bearer, or an error for the log that wraps ErrUnauthorized.
func Authenticate(ctx context.Context, cache client.Reader, bearer string) (*v1.Machine, error) {
	name, secret, err := herdtoken.Parse(bearer)
	if err != nil || !strings.HasPrefix(name, machinePrefx) {
		return nil, fmt.Errorf("%w: not a machine credential", ErrUnauthorized)
	}
	var machine v1.Machine
	if err := cache.Get(ctx, client.ObjectKey{Name: name}, &machine); err != nil {
		return nil, fmt.Errorf("%w: machine %s: %v", ErrUnauthorized, name, err)
	}
	if !herdtoken.Verify(machine.Spec.CredentialHash, secret) || !machine.DeletionTimestamp.IsZero() {
		return nil, fmt.Errorf("%w: machine %s: wrong secret, or the machine is being deleted", ErrUnauthorized, name)
	}
	return &machine, nil
}

// PlanSecretName is the name of machine's plan Secret in herd-system.
func PlanSecretName(machine string) string { return "plan-" + machine }

// Plan returns the plan of the machine whose credential is bearer, or nil
// when it has none yet.
func (m *Machines) Plan(ctx context.Context, bearer string) (*herdapi.NodePlan, error) {
	machine, err := m.machine(ctx, bearer)
	if err != nil {
		return nil, err
	}
	var s corev1.Secret
	err = m.cfg.API.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: PlanSecretName(machine.Name)}, &s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var plan herdapi.Plan
	if err := json.Unmarshal(s.Data[planKey], &plan); err != nil {
		return nil, fmt.Errorf("the plan of machine %s is unreadable: %w", machine.Name, err)
	}
	return &herdapi.NodePlan{Revision: Revision(s.Data[planKey]), Plan: plan}, nil
}

// Revision is the revision of a plan's content.
func Revision(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// ReportStatus records what the node agent of bearer says of its plan.
func (m *Machines) ReportStatus(ctx context.Context, bearer string, st herdapi.NodePlanStatus) error {
	machine, err := m.machine(ctx, bearer)
	if err != nil {
		return err
	}
	switch {
	case st.State != v1.PlanPending && st.State != v1.PlanInProgress && st.State != v1.PlanSucceeded && st.State != v1.PlanFailed:
		return fmt.Errorf("%w: state must be Pending, InProgress, Succeeded or Failed", ErrInvalid)
	case st.Revision != "" && (len(st.Revision) != 64 || strings.Trim(st.Revision, "0123456789abcdef") != ""):
		return fmt.Errorf("%w: revision must be a plan's sha256", ErrInvalid)
	case len(st.Probes) > maxProbes || len(st.FailedInstruction) > 253:
		return fmt.Errorf("%w: at most %d probes and an instruction name of 253 bytes", ErrInvalid, maxProbes)
	}
	if len(st.Output) > maxOutput {
		st.Output = st.Output[len(st.Output)-maxOutput:]
	}
	// Every field the node agent owns, written as it says (a merge patch
	// against the cache would skip what a stale cache already shows).
	probes := map[string]any{}
	for name := range machine.Status.Probes {
		probes[name] = nil
	}
	for name, ok := range st.Probes {
		probes[name] = ok
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{
		"appliedRevision": st.Revision, "state": st.State, "failures": st.Failures, "failedInstruction": st.FailedInstruction,
		"output": strings.ToValidUTF8(st.Output, "?"), "probes": probes, "lastContact": metav1.NewTime(m.cfg.Now()),
	}})
	if err != nil {
		return err
	}
	return m.cfg.Client.Status().Patch(ctx, machine, client.RawPatch(types.MergePatchType, patch))
}

// RevisionOf is the revision plan would have.
func RevisionOf(plan herdapi.Plan) (string, error) {
	content, err := json.Marshal(plan)
	if err != nil {
		return "", err
	}
	return Revision(content), nil
}

// CurrentRevision is the revision of machine's stored plan ("" if none),
// read uncached.
func CurrentRevision(ctx context.Context, api client.Reader, machine *v1.Machine) (string, error) {
	var s corev1.Secret
	err := api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: PlanSecretName(machine.Name)}, &s)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return Revision(s.Data[planKey]), nil
}

// WritePlan stores plan as machine's plan (the planner's write) and
// returns its revision; the Machine's status shows it as PlanRevision.
func WritePlan(ctx context.Context, c client.Client, machine *v1.Machine, plan herdapi.Plan) (string, error) {
	content, err := json.Marshal(plan)
	if err != nil {
		return "", err
	}
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: PlanSecretName(machine.Name), Namespace: wellknown.Namespace,
			Labels:          wellknown.ManagedLabels(map[string]string{wellknown.ClusterLabel: machine.Spec.ClusterName}),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Machine", Name: machine.Name, UID: machine.UID}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{planKey: content},
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := c.Patch(ctx, s, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
		return "", fmt.Errorf("failed to write the plan of machine %s: %w", machine.Name, err)
	}
	rev := Revision(content)
	// Only the plan's revision: the state is the node agent's to say.
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"planRevision": rev}})
	return rev, c.Status().Patch(ctx, machine, client.RawPatch(types.MergePatchType, patch))
}
