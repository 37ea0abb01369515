package api

import (
	"context"
	"net/http"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/projects"
	"herd.dev/herd/internal/roles"
)

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
	if !a.mayMoveNamespaces(r.Context(), id, p.Spec.ClusterName, req.Create) {
		a.forbidden(w, r, id, "move namespaces of cluster "+p.Spec.ClusterName+" into projects")
		return
	}
	ns, ok := a.namespaces(w, r, p)
	if !ok {
		return
	}
	names, err := ns.Add(r.Context(), p, req.Namespace, req.Create)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("namespace added to project", "project", p.Name, "namespace", req.Namespace, "actor", id.UserName)
	out := apiProject(p)
	out.Namespaces = names // the status follows when the cluster controller next records it
	writeJSON(w, http.StatusOK, out)
}

func (a projectsAPI) handleRemoveNamespace(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	p, ok := a.project(w, r, id)
	if !ok {
		return
	}
	name := r.PathValue("namespace")
	if !a.mayMoveNamespaces(r.Context(), id, p.Spec.ClusterName, false) {
		a.forbidden(w, r, id, "move namespaces of cluster "+p.Spec.ClusterName+" out of projects")
		return
	}
	ns, ok := a.namespaces(w, r, p)
	if !ok {
		return
	}
	if err := ns.Remove(r.Context(), p, name); err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("namespace removed from project", "project", p.Name, "namespace", name, "actor", id.UserName)
	w.WriteHeader(http.StatusNoContent)
}

// namespaces moves the namespaces of p's cluster; it answers 503 when the
// cluster is not connected.
func (a projectsAPI) namespaces(w http.ResponseWriter, r *http.Request, p *v1.Project) (projects.Namespaces, bool) {
	kube, err := a.cfg.Downstream(r.Context(), p.Spec.ClusterName)
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"cluster "+p.Spec.ClusterName+" is not connected; try again when its agent is back", err)
		return projects.Namespaces{}, false
	}
	return projects.Namespaces{Kube: kube, Live: a.liveProject(r.Context())}, true
}

// liveProject reports whether a project of that name and UID exists.
func (a projectsAPI) liveProject(ctx context.Context) func(name, uid string) bool {
	return func(name, uid string) bool {
		var p v1.Project
		return name != "" && a.cache.Get(ctx, client.ObjectKey{Name: name}, &p) == nil && string(p.UID) == uid
	}
}
