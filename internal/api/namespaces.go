package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/roles"
)

// errOtherProject means a namespace already belongs to another project.
var errOtherProject = errors.New("server: namespace belongs to another project")

// mayMoveNamespaces reports whether id may put namespaces of a cluster in
// and out of projects: that changes who reaches them, so it takes the
// right to update namespaces in the whole cluster (and to create them,
// with create).
func (a projectsAPI) mayMoveNamespaces(ctx context.Context, id *authn.Identity, cluster string, create bool) bool {
	verbs := []string{"update"}
	if create {
		verbs = append(verbs, "create")
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: verbs}}
	return len(roles.Missing(a.authz.ClusterRules(ctx, id, cluster), want)) == 0
}

func (a projectsAPI) handleAddNamespace(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ProjectNamespaceRequest
	if !a.decode(w, r, &req) {
		return
	}
	p, ok := a.project(w, r, id)
	if !ok {
		return
	}
	if errs := validation.ValidateNamespaceName(req.Namespace, false); len(errs) > 0 {
		a.invalid(w, r, "namespace name "+strings.Join(errs, "; "))
		return
	}
	if v1.ReservedNamespace(req.Namespace) {
		a.invalid(w, r, "namespace "+req.Namespace+" belongs to the system or to Herd and cannot join a project")
		return
	}
	if !a.mayMoveNamespaces(r.Context(), id, p.Spec.ClusterName, req.Create) {
		a.forbidden(w, r, id, "move namespaces of cluster "+p.Spec.ClusterName+" into projects")
		return
	}
	kube, err := a.cfg.Downstream(r.Context(), p.Spec.ClusterName)
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"cluster "+p.Spec.ClusterName+" is not connected; try again when its agent is back", err)
		return
	}
	err = setNamespaceProject(r.Context(), kube, req.Namespace, nil, p, a.liveProject(r.Context()))
	if apierrors.IsNotFound(err) && req.Create {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: req.Namespace,
			Labels: map[string]string{v1.ProjectNamespaceLabel: p.Name, v1.ProjectUIDLabel: string(p.UID)}}}
		_, err = kube.CoreV1().Namespaces().Create(r.Context(), ns, metav1.CreateOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound,
			"namespace "+req.Namespace+" does not exist in cluster "+p.Spec.ClusterName+"; add --create to make it", err)
		return
	case errors.Is(err, errOtherProject):
		a.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, err.Error()+"; remove it from that project first", err)
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	a.audit.Info("namespace added to project", "project", p.Name, "namespace", req.Namespace, "actor", id.UserName)
	out := apiProject(p)
	if live, err := projectNamespaces(r.Context(), kube, p); err == nil {
		out.Namespaces = live // the status follows when the cluster controller next records it
	} else if !slices.Contains(out.Namespaces, req.Namespace) {
		out.Namespaces = append(out.Namespaces, req.Namespace)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a projectsAPI) handleRemoveNamespace(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	p, ok := a.project(w, r, id)
	if !ok {
		return
	}
	ns := r.PathValue("namespace")
	if !a.mayMoveNamespaces(r.Context(), id, p.Spec.ClusterName, false) {
		a.forbidden(w, r, id, "move namespaces of cluster "+p.Spec.ClusterName+" out of projects")
		return
	}
	kube, err := a.cfg.Downstream(r.Context(), p.Spec.ClusterName)
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"cluster "+p.Spec.ClusterName+" is not connected; try again when its agent is back", err)
		return
	}
	switch err := setNamespaceProject(r.Context(), kube, ns, p, nil, a.liveProject(r.Context())); {
	case apierrors.IsNotFound(err) || errors.Is(err, errOtherProject):
		a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound, "namespace "+ns+" is not in project "+p.Name, err)
	case err != nil:
		a.internal(w, r, err)
	default:
		a.audit.Info("namespace removed from project", "project", p.Name, "namespace", ns, "actor", id.UserName)
		w.WriteHeader(http.StatusNoContent)
	}
}

// liveProject reports whether a project of that name and UID exists.
func (a projectsAPI) liveProject(ctx context.Context) func(name, uid string) bool {
	return func(name, uid string) bool {
		var p v1.Project
		return name != "" && a.cache.Get(ctx, client.ObjectKey{Name: name}, &p) == nil && string(p.UID) == uid
	}
}

// setNamespaceProject moves a downstream namespace from project from (nil:
// none) to project to (nil: none), failing with errOtherProject when it is
// in another one. Labels left by a deleted project count as none. The
// write is conditional on the namespace's resourceVersion, so a concurrent
// move cannot be overwritten.
func setNamespaceProject(ctx context.Context, kube kubernetes.Interface, name string, from, to *v1.Project, live func(name, uid string) bool) error {
	ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var current *v1.Project
	for _, p := range []*v1.Project{from, to} {
		if p != nil && v1.InProject(ns.Labels, p) {
			current = p
		}
	}
	switch {
	case current == nil && from != nil:
		return fmt.Errorf("%w: namespace %s is not in project %s", errOtherProject, name, from.Name)
	case current == to:
		return nil
	case current == nil && to != nil && live(ns.Labels[v1.ProjectNamespaceLabel], ns.Labels[v1.ProjectUIDLabel]):
		return fmt.Errorf("%w: namespace %s is in project %s", errOtherProject, name, ns.Labels[v1.ProjectNamespaceLabel])
	}
	labels := map[string]any{v1.ProjectNamespaceLabel: nil, v1.ProjectUIDLabel: nil}
	if to != nil {
		labels = map[string]any{v1.ProjectNamespaceLabel: to.Name, v1.ProjectUIDLabel: string(to.UID)}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": ns.ResourceVersion, "labels": labels}})
	_, err = kube.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// projectNamespaces lists the namespaces of p in its cluster, sorted.
func projectNamespaces(ctx context.Context, kube kubernetes.Interface, p *v1.Project) ([]string, error) {
	list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: v1.ProjectNamespaceLabel + "=" + p.Name})
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, ns := range list.Items {
		if v1.InProject(ns.Labels, p) {
			names = append(names, ns.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
