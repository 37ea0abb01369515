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

func (w *writer) clusterBindings(want map[string]*rbacv1.ClusterRoleBinding) {
	api := w.c.cfg.Kube.RbacV1().ClusterRoleBindings()
	for name, b := range want {
		have, err := w.c.listers.bindings.Get(name)
		switch {
		case apierrors.IsNotFound(err):
			_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
			w.created("ClusterRoleBinding", name, err, func() (metav1.Object, error) { return api.Get(w.ctx, name, metav1.GetOptions{}) })
		case err != nil:
			w.errs = append(w.errs, err)
		case have.RoleRef != b.RoleRef:
			// roleRef is immutable: replace the binding.
			err = api.Delete(w.ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
			w.record("delete", "ClusterRoleBinding", name, err)
			if err == nil {
				_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
				w.record("create", "ClusterRoleBinding", name, err)
			}
		case !sameSubjects(have.Subjects, b.Subjects) || !sameLabels(have.Labels, b.Labels):
			upd := have.DeepCopy()
			upd.Subjects, upd.Labels = b.Subjects, mergeLabels(upd.Labels, b.Labels)
			_, err = api.Update(w.ctx, upd, metav1.UpdateOptions{})
			w.record("update", "ClusterRoleBinding", name, err)
		}
	}
	have, err := w.c.listers.bindings.List(labels.Everything())
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	for _, b := range have {
		if _, ok := want[b.Name]; !ok && b.Labels[SourceLabel] == sourceCRTB {
			w.record("delete", "ClusterRoleBinding", b.Name, api.Delete(w.ctx, b.Name, metav1.DeleteOptions{}))
		}
	}
}

func (w *writer) roleBindings(want map[string]*rbacv1.RoleBinding) {
	for key, b := range want {
		api := w.c.cfg.Kube.RbacV1().RoleBindings(b.Namespace)
		have, err := w.c.listers.roleBindings.RoleBindings(b.Namespace).Get(b.Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
			w.created("RoleBinding", key, err, func() (metav1.Object, error) { return api.Get(w.ctx, b.Name, metav1.GetOptions{}) })
		case err != nil:
			w.errs = append(w.errs, err)
		case have.RoleRef != b.RoleRef:
			err = api.Delete(w.ctx, b.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
			w.record("delete", "RoleBinding", key, err)
			if err == nil {
				_, err = api.Create(w.ctx, b, metav1.CreateOptions{})
				w.record("create", "RoleBinding", key, err)
			}
		case !sameSubjects(have.Subjects, b.Subjects) || !sameLabels(have.Labels, b.Labels):
			upd := have.DeepCopy()
			upd.Subjects, upd.Labels = b.Subjects, mergeLabels(upd.Labels, b.Labels)
			_, err = api.Update(w.ctx, upd, metav1.UpdateOptions{})
			w.record("update", "RoleBinding", key, err)
		}
	}
	have, err := w.c.listers.roleBindings.List(labels.Everything())
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	for _, b := range have {
		if _, ok := want[b.Namespace+"/"+b.Name]; !ok && b.Labels[SourceLabel] == sourcePRTB {
			err := w.c.cfg.Kube.RbacV1().RoleBindings(b.Namespace).Delete(w.ctx, b.Name, metav1.DeleteOptions{})
			w.record("delete", "RoleBinding", b.Namespace+"/"+b.Name, err)
		}
	}
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
