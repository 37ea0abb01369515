// Package projectguard keeps, in one downstream cluster, the admission
// policy that holds namespaces in their projects (importmanifest's
// ProjectGuardObjects): it puts the policy and its binding back when they
// are missing or changed, and reports whether the cluster enforces them.
// Without it (a Kubernetes older than 1.30, or a policy that cannot be put
// in place) a project owner could move namespaces behind Herd's back, and
// the Cluster's ProjectGuard condition says so.
package projectguard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"

	"herd.dev/herd/internal/importmanifest"
)

// Reasons of the reported state.
const (
	ReasonEnforced      = "Enforced"
	ReasonUnsupported   = "Unsupported"
	ReasonPolicyMissing = "PolicyMissing"
)

// specAnnotation holds the hash of the spec Herd wrote, so that a changed
// policy is put back without comparing the fields the apiserver defaults.
const specAnnotation = "management.herd.dev/spec-hash"

// Config configures a Controller. Zero values are documented per field.
type Config struct {
	// Cluster is the Herd name of the cluster, for Report and the log. Required.
	Cluster string
	// Kube reaches the cluster with a credential that may write admission
	// policies. Required.
	Kube kubernetes.Interface
	// Report receives the state after every check: enforced, a reason
	// (Reason*) and a message. Required.
	Report func(ctx context.Context, cluster string, enforced bool, reason, message string)
	// Interval between checks. Zero: one minute.
	Interval time.Duration
	// Logger; nil: discard.
	Logger *slog.Logger
}

// Controller checks one cluster.
type Controller struct{ cfg Config }

// New checks cfg.
func New(cfg Config) (*Controller, error) {
	if cfg.Cluster == "" || cfg.Kube == nil || cfg.Report == nil {
		return nil, errors.New("projectguard: Cluster, Kube and Report are required")
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg}, nil
}

// Run checks at once, whenever the policy or its binding changes, and
// every Interval, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	changed := make(chan struct{}, 1)
	c.watch(ctx, changed)
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		enforced, reason, msg := c.Check(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.cfg.Report(ctx, c.cfg.Cluster, enforced, reason, msg)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-changed:
		}
	}
}

// watch signals changed when someone changes or deletes the policy or
// its binding, where the cluster serves them.
func (c *Controller) watch(ctx context.Context, changed chan<- struct{}) {
	if !c.served(ctx) {
		return
	}
	factory := informers.NewSharedInformerFactoryWithOptions(c.cfg.Kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", importmanifest.ProjectGuardPolicy).String()
	}))
	signal := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(_, cur any) { signal(cur) }, DeleteFunc: signal}
	for _, inf := range []toolscache.SharedIndexInformer{
		factory.Admissionregistration().V1().ValidatingAdmissionPolicies().Informer(),
		factory.Admissionregistration().V1().ValidatingAdmissionPolicyBindings().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			c.cfg.Logger.Warn("failed to watch the project guard policy", "cluster", c.cfg.Cluster, "err", err)
		}
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
}

// Check makes sure the policy and its binding are in place as Herd wrote
// them, and says whether the cluster enforces them.
func (c *Controller) Check(ctx context.Context) (enforced bool, reason, message string) {
	if !c.served(ctx) {
		return false, ReasonUnsupported, "the cluster serves no ValidatingAdmissionPolicy (Kubernetes 1.30 or newer): " +
			"project owners could move namespaces between projects and change their pod security labels"
	}
	policy, binding := importmanifest.ProjectGuardObjects()
	if err := c.ensurePolicy(ctx, policy); err != nil {
		c.cfg.Logger.Warn("failed to put the project guard policy in place", "cluster", c.cfg.Cluster, "err", err)
		return false, ReasonPolicyMissing, "the admission policy " + importmanifest.ProjectGuardPolicy + " is not in place: " + err.Error()
	}
	if err := c.ensureBinding(ctx, binding); err != nil {
		c.cfg.Logger.Warn("failed to put the project guard policy binding in place", "cluster", c.cfg.Cluster, "err", err)
		return false, ReasonPolicyMissing, "the admission policy binding " + importmanifest.ProjectGuardPolicy + " is not in place: " + err.Error()
	}
	return true, ReasonEnforced, "namespaces stay in their projects and keep their pod security labels"
}

// served reports whether the cluster serves validating admission policies.
func (c *Controller) served(ctx context.Context) bool {
	list, err := c.cfg.Kube.Discovery().ServerResourcesForGroupVersion(admissionv1.SchemeGroupVersion.String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == "validatingadmissionpolicies" {
			return true
		}
	}
	return false
}

func (c *Controller) ensurePolicy(ctx context.Context, want *admissionv1.ValidatingAdmissionPolicy) error {
	return ensure(ctx, c.cfg.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies(), want, want.Spec,
		func(have *admissionv1.ValidatingAdmissionPolicy) { have.Spec = want.Spec })
}

func (c *Controller) ensureBinding(ctx context.Context, want *admissionv1.ValidatingAdmissionPolicyBinding) error {
	return ensure(ctx, c.cfg.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings(), want, want.Spec,
		func(have *admissionv1.ValidatingAdmissionPolicyBinding) { have.Spec = want.Spec })
}

// typedAPI is the part of a typed client that ensure uses.
type typedAPI[T metav1.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// ensure creates want, or puts its spec (setSpec), labels and annotations
// on the existing object when that was written from another spec.
func ensure[T metav1.Object](ctx context.Context, api typedAPI[T], want T, spec any, setSpec func(have T)) error {
	stamp(want, spec)
	have, err := api.Get(ctx, want.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		return err
	case err != nil:
		return err
	case have.GetAnnotations()[specAnnotation] == want.GetAnnotations()[specAnnotation]:
		return nil
	}
	setSpec(have)
	have.SetLabels(want.GetLabels())
	have.SetAnnotations(want.GetAnnotations())
	_, err = api.Update(ctx, have, metav1.UpdateOptions{})
	return err
}

// stamp records the hash of spec on obj.
func stamp(obj metav1.Object, spec any) {
	data, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("projectguard: spec does not marshal: %v", err))
	}
	sum := sha256.Sum256(data)
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[specAnnotation] = hex.EncodeToString(sum[:16])
	obj.SetAnnotations(annotations)
}
