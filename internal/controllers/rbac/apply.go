package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"

	v1 "herd.dev/herd/api/v1"
)

// ErrConflict means a downstream object has the name Herd wants but not
// Herd's label; Herd leaves it alone.
var ErrConflict = errors.New("rbac: an object Herd does not manage has the name")

type listers struct {
	roles        rbaclisters.ClusterRoleLister
	bindings     rbaclisters.ClusterRoleBindingLister
	roleBindings rbaclisters.RoleBindingLister
	namespaces   corelisters.NamespaceLister
}

// sync brings the cluster to the desired state once.
func (c *Controller) sync(ctx context.Context) Result {
	in, err := c.cfg.Source.Input(ctx, c.cfg.Cluster)
	if err != nil {
		return Result{Err: fmt.Errorf("failed to read the management state: %w", err)}
	}
	in.Namespaces, err = c.projectNamespaces(in.Projects)
	if err != nil {
		return Result{Err: err}
	}
	d := Render(in)
	w := &writer{ctx: ctx, c: c}
	// Roles first, so that bindings never point at a role that is missing.
	w.roles(d.ClusterRoles)
	w.clusterBindings(d.ClusterRoleBindings)
	w.roleBindings(d.RoleBindings)
	w.pruneRoles(d.ClusterRoles)
	return Result{Err: errors.Join(w.errs...), Problems: d.Problems, Namespaces: in.Namespaces, Changes: w.changes}
}

// projectNamespaces maps each project to its namespaces, sorted.
func (c *Controller) projectNamespaces(projects []v1.Project) (map[string][]string, error) {
	all, err := c.listers.namespaces.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	known := map[string]*v1.Project{}
	for i := range projects {
		known[projects[i].Name] = &projects[i]
	}
	out := map[string][]string{}
	for _, ns := range all {
		p := known[ns.Labels[v1.ProjectNamespaceLabel]]
		if p != nil && v1.InProject(ns.Labels, p) && !v1.ReservedNamespace(ns.Name) && ns.DeletionTimestamp == nil {
			out[p.Name] = append(out[p.Name], ns.Name)
		}
	}
	for p := range out {
		slices.Sort(out[p])
	}
	return out, nil
}

type writer struct {
	ctx     context.Context
	c       *Controller
	errs    []error
	changes int
}

func (w *writer) record(verb, kind, name string, err error) {
	switch {
	case err == nil:
		w.changes++
		w.c.cfg.Logger.Debug("downstream RBAC "+verb, "cluster", w.c.cfg.Cluster, "kind", kind, "name", name)
	case verb == "delete" && apierrors.IsNotFound(err):
	default:
		w.errs = append(w.errs, fmt.Errorf("failed to %s %s %s: %w", verb, kind, name, err))
	}
}

// created records a create; when the name is taken, it reads the live
// object: Herd's own (made by another replica, or not yet in this
// controller's cache) is left to the next sync, anyone else's is a conflict.
func (w *writer) created(kind, name string, err error, live func() (metav1.Object, error)) {
	if !apierrors.IsAlreadyExists(err) {
		w.record("create", kind, name, err)
		return
	}
	obj, getErr := live()
	switch {
	case getErr != nil:
		w.errs = append(w.errs, fmt.Errorf("failed to read %s %s: %w", kind, name, getErr))
	case obj.GetLabels()[SourceLabel] == "":
		w.errs = append(w.errs, fmt.Errorf("%w: %s %s", ErrConflict, kind, name))
	default:
		w.errs = append(w.errs, fmt.Errorf("%s %s is being made elsewhere; retrying", kind, name))
	}
}

func (w *writer) roles(want map[string]*rbacv1.ClusterRole) {
	api := w.c.cfg.Kube.RbacV1().ClusterRoles()
	for name, role := range want {
		have, err := w.c.listers.roles.Get(name)
		switch {
		case apierrors.IsNotFound(err):
			_, err = api.Create(w.ctx, role, metav1.CreateOptions{})
			w.created("ClusterRole", name, err, func() (metav1.Object, error) { return api.Get(w.ctx, name, metav1.GetOptions{}) })
		case err != nil:
			w.errs = append(w.errs, err)
		case !equality.Semantic.DeepEqual(have.Rules, role.Rules) || !sameLabels(have.Labels, role.Labels) || have.AggregationRule != nil:
			upd := have.DeepCopy()
			upd.Rules, upd.Labels, upd.AggregationRule = role.Rules, mergeLabels(upd.Labels, role.Labels), nil
			_, err = api.Update(w.ctx, upd, metav1.UpdateOptions{})
			w.record("update", "ClusterRole", name, err)
		}
	}
}

// pruneRoles deletes Herd's ClusterRoles that no template asks for.
func (w *writer) pruneRoles(want map[string]*rbacv1.ClusterRole) {
	have, err := w.c.listers.roles.List(labels.Everything())
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	for _, r := range have {
		if _, ok := want[r.Name]; !ok && r.Labels[SourceLabel] == sourceTemplate {
			w.record("delete", "ClusterRole", r.Name, w.c.cfg.Kube.RbacV1().ClusterRoles().Delete(w.ctx, r.Name, metav1.DeleteOptions{}))
		}
	}
}

// bindingKind is how the writer reads and writes one kind of binding.
type bindingKind[T metav1.Object] struct {
	kind, source string
	// get reads a binding by want's key from the lister; list lists them.
	get  func(key string, want T) (T, error)
	list func() ([]T, error)
	key  func(T) string
	// api is the typed client of a binding's namespace.
	api func(T) bindingClient[T]
	// same reports whether have already holds want's role, subjects and
	// labels (roleRef separately: it cannot change); update returns a copy
	// of have with want's subjects and labels.
	sameRole func(have, want T) bool
	same     func(have, want T) bool
	update   func(have, want T) T
}

// bindingClient is the part of a typed binding client the writer uses.
type bindingClient[T any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

// applyBindings makes the bindings of one kind what want says: creates
// the missing, replaces those whose role changed (roleRef is immutable),
// updates subjects and labels, and deletes Herd's that are no longer wanted.
func applyBindings[T metav1.Object](w *writer, k bindingKind[T], want map[string]T) {
	for key, b := range want {
		api := k.api(b)
		have, err := k.get(key, b)
		switch {
		case apierrors.IsNotFound(err):
			_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
			w.created(k.kind, key, err, func() (metav1.Object, error) { return api.Get(w.ctx, b.GetName(), metav1.GetOptions{}) })
		case err != nil:
			w.errs = append(w.errs, err)
		case !k.sameRole(have, b):
			uid := have.GetUID()
			err = api.Delete(w.ctx, b.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			w.record("delete", k.kind, key, err)
			if err == nil {
				_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
				w.record("create", k.kind, key, err)
			}
		case !k.same(have, b):
			_, err = api.Update(w.ctx, k.update(have, b), metav1.UpdateOptions{})
			w.record("update", k.kind, key, err)
		}
	}
	have, err := k.list()
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	for _, b := range have {
		if _, ok := want[k.key(b)]; !ok && b.GetLabels()[SourceLabel] == k.source {
			w.record("delete", k.kind, k.key(b), k.api(b).Delete(w.ctx, b.GetName(), metav1.DeleteOptions{}))
		}
	}
}

func (w *writer) clusterBindings(want map[string]*rbacv1.ClusterRoleBinding) {
	api := w.c.cfg.Kube.RbacV1().ClusterRoleBindings()
	applyBindings(w, bindingKind[*rbacv1.ClusterRoleBinding]{
		kind: "ClusterRoleBinding", source: sourceCRTB,
		get: func(key string, _ *rbacv1.ClusterRoleBinding) (*rbacv1.ClusterRoleBinding, error) {
			return w.c.listers.bindings.Get(key)
		},
		list:     func() ([]*rbacv1.ClusterRoleBinding, error) { return w.c.listers.bindings.List(labels.Everything()) },
		key:      func(b *rbacv1.ClusterRoleBinding) string { return b.Name },
		api:      func(*rbacv1.ClusterRoleBinding) bindingClient[*rbacv1.ClusterRoleBinding] { return api },
		sameRole: func(have, want *rbacv1.ClusterRoleBinding) bool { return have.RoleRef == want.RoleRef },
		same: func(have, want *rbacv1.ClusterRoleBinding) bool {
			return sameSubjects(have.Subjects, want.Subjects) && sameLabels(have.Labels, want.Labels)
		},
		update: func(have, want *rbacv1.ClusterRoleBinding) *rbacv1.ClusterRoleBinding {
			upd := have.DeepCopy()
			upd.Subjects, upd.Labels = want.Subjects, mergeLabels(upd.Labels, want.Labels)
			return upd
		},
	}, want)
}

func (w *writer) roleBindings(want map[string]*rbacv1.RoleBinding) {
	applyBindings(w, bindingKind[*rbacv1.RoleBinding]{
		kind: "RoleBinding", source: sourcePRTB,
		get: func(_ string, b *rbacv1.RoleBinding) (*rbacv1.RoleBinding, error) {
			return w.c.listers.roleBindings.RoleBindings(b.Namespace).Get(b.Name)
		},
		list: func() ([]*rbacv1.RoleBinding, error) { return w.c.listers.roleBindings.List(labels.Everything()) },
		key:  func(b *rbacv1.RoleBinding) string { return b.Namespace + "/" + b.Name },
		api: func(b *rbacv1.RoleBinding) bindingClient[*rbacv1.RoleBinding] {
			return w.c.cfg.Kube.RbacV1().RoleBindings(b.Namespace)
		},
		sameRole: func(have, want *rbacv1.RoleBinding) bool { return have.RoleRef == want.RoleRef },
		same: func(have, want *rbacv1.RoleBinding) bool {
			return sameSubjects(have.Subjects, want.Subjects) && sameLabels(have.Labels, want.Labels)
		},
		update: func(have, want *rbacv1.RoleBinding) *rbacv1.RoleBinding {
			upd := have.DeepCopy()
			upd.Subjects, upd.Labels = want.Subjects, mergeLabels(upd.Labels, want.Labels)
			return upd
		},
	}, want)
}

func mergeLabels(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}
