package api

import (
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/members"
	"herd.dev/herd/internal/projects"
	"herd.dev/herd/internal/roles"
)

func (a projectsAPI) handleListProjects(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var list v1.ProjectList
	var opts []client.ListOption
	if c := r.URL.Query().Get("cluster"); c != "" {
		opts = append(opts, client.MatchingFields{index.Cluster: c})
	}
	if err := a.cache.List(r.Context(), &list, opts...); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.ProjectList{Items: []herdapi.Project{}}
	for i := range list.Items {
		if a.authz.VisibleProject(r.Context(), id, &list.Items[i]) {
			out.Items = append(out.Items, apiProject(&list.Items[i]))
		}
	}
	slices.SortFunc(out.Items, func(a, b herdapi.Project) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

// project reads the named project and answers 404 when id may not see it.
func (a projectsAPI) project(w http.ResponseWriter, r *http.Request, id *authn.Identity) (*v1.Project, bool) {
	var p v1.Project
	name := r.PathValue("name")
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &p); err != nil || !a.authz.VisibleProject(r.Context(), id, &p) {
		a.notFound(w, r, "project "+name)
		return nil, false
	}
	return &p, true
}

func (a projectsAPI) handleGetProject(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if p, ok := a.project(w, r, id); ok {
		writeJSON(w, http.StatusOK, apiProject(p))
	}
}

func (a projectsAPI) handleCreateProject(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ProjectCreateRequest
	if !a.decode(w, r, &req) {
		return
	}
	switch errs := validation.NameIsDNSLabel(req.Name, false); {
	case len(errs) > 0:
		a.invalid(w, r, "project name "+strings.Join(errs, "; "))
		return
	case len(req.DisplayName) > 253 || len(req.Description) > 1024:
		a.invalid(w, r, "displayName is limited to 253 bytes and description to 1024")
		return
	case req.ClusterName == "":
		a.invalid(w, r, "clusterName is required: the cluster whose namespaces the project groups")
		return
	}
	var cluster v1.Cluster
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: req.ClusterName}, &cluster); err != nil ||
		!(a.authz.Allowed(r.Context(), id, "get", "clusters") || a.authz.Member(r.Context(), id, cluster.Name)) {
		a.invalid(w, r, "cluster "+req.ClusterName+" does not exist; see `herdctl clusters list`")
		return
	}
	if !a.authz.MayInCluster(r.Context(), id, cluster.Name, "create", "projects") {
		a.forbidden(w, r, id, "create projects in cluster "+cluster.Name)
		return
	}
	p := &v1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, OwnerReferences: []metav1.OwnerReference{ownerRef(&cluster, "Cluster")}},
		Spec:       v1.ProjectSpec{ClusterName: cluster.Name, DisplayName: req.DisplayName, Description: req.Description},
	}
	if err := a.client.Create(r.Context(), p); err != nil {
		if apierrors.IsAlreadyExists(err) {
			a.fail(w, r, http.StatusConflict, metav1.StatusReasonAlreadyExists, "project "+req.Name+" already exists; project names are unique across clusters", err)
			return
		}
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), p, false)
	// Like Rancher, a creator who is not an administrator owns the project.
	if !a.authz.Allowed(r.Context(), id, "create", "projectroletemplatebindings") {
		b := members.NewPRTB(p, roles.ProjectOwner, v1.Subject{UserName: id.UserName})
		if err := a.client.Create(r.Context(), b); err != nil && !apierrors.IsAlreadyExists(err) {
			a.internal(w, r, err)
			return
		}
		a.awaitCache(r.Context(), b, false)
	}
	a.audit.Info("project created", "project", p.Name, "cluster", p.Spec.ClusterName, "actor", id.UserName)
	writeJSON(w, http.StatusCreated, apiProject(p))
}

func (a projectsAPI) handleDeleteProject(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	p, ok := a.project(w, r, id)
	if !ok {
		return
	}
	if !a.authz.MayInCluster(r.Context(), id, p.Spec.ClusterName, "delete", "projects") {
		a.forbidden(w, r, id, "delete project "+p.Name)
		return
	}
	// Namespaces leave the project first (best effort: an offline cluster
	// keeps labels that name no project, which grant nothing).
	if kube, err := a.cfg.Downstream(r.Context(), p.Spec.ClusterName); err == nil {
		ns := projects.Namespaces{Kube: kube, Live: a.liveProject(r.Context())}
		if err := ns.Release(r.Context(), p); err != nil {
			a.log.Warn("failed to take namespaces out of a deleted project", "project", p.Name, "err", err)
		}
	}
	a.deleteObject(w, r, id, p, "project")
}

func apiProject(p *v1.Project) herdapi.Project {
	ns := p.Status.Namespaces
	if ns == nil {
		ns = []string{}
	}
	return herdapi.Project{Name: p.Name, ClusterName: p.Spec.ClusterName, DisplayName: p.Spec.DisplayName,
		Description: p.Spec.Description, Namespaces: ns, CreatedAt: p.CreationTimestamp.Time}
}

func ownerRef(obj client.Object, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: v1.GroupVersion.String(), Kind: kind, Name: obj.GetName(), UID: obj.GetUID()}
}
