package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdapi"
)

// fakeRBAC is the fake's roles, projects and members. Namespaces of cluster
// prod exist; a project's namespaces are moved, or made with create.
type fakeRBAC struct {
	roles      map[string]herdapi.Role
	projects   map[string]herdapi.Project
	members    map[string]herdapi.Member
	namespaces map[string]bool // namespaces of cluster prod
}

func newFakeRBAC() fakeRBAC {
	pods := rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}}
	deploy := rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}}
	return fakeRBAC{
		roles: map[string]herdapi.Role{
			"admin":         {Name: "admin", Context: herdapi.ContextGlobal, Builtin: true, Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}, Ready: "True"},
			"cluster-owner": {Name: "cluster-owner", Context: herdapi.ContextCluster, Builtin: true, Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}, Ready: "True"},
			"view-pods":     {Name: "view-pods", DisplayName: "View pods", Context: herdapi.ContextProject, Rules: []rbacv1.PolicyRule{pods}, Ready: "True"},
			"web-dev":       {Name: "web-dev", Context: herdapi.ContextProject, Inherits: []string{"view-pods"}, Rules: []rbacv1.PolicyRule{deploy}, Ready: "True"},
			"broken":        {Name: "broken", Context: herdapi.ContextProject, Inherits: []string{"gone"}, Ready: "False", Message: "role template gone does not exist"},
		},
		projects: map[string]herdapi.Project{
			"web": {Name: "web", ClusterName: "prod", DisplayName: "Web", Namespaces: []string{"web-a", "web-b", "web-c", "web-d"}, CreatedAt: created},
		},
		members: map[string]herdapi.Member{
			"crtb-1": {Name: "crtb-1", ClusterName: "prod", RoleTemplate: "cluster-owner", UserName: "u-alice", Username: "alice", Ready: "True", CreatedAt: created},
			"prtb-1": {Name: "prtb-1", ClusterName: "prod", ProjectName: "web", RoleTemplate: "view-pods", Group: "local://g-devs", Ready: "True", CreatedAt: created},
		},
		namespaces: map[string]bool{"default": true, "web-a": true, "web-b": true, "web-c": true, "web-d": true, "shop": true},
	}
}

func (f *fakeServer) routeRBAC(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/roles", f.authed(false, f.listRoles))
	mux.HandleFunc("GET /v1/roles/{name}", f.authed(false, f.getRole))
	mux.HandleFunc("GET /v1/projects", f.authed(false, f.listProjects))
	mux.HandleFunc("POST /v1/projects", f.authed(false, f.createProject))
	mux.HandleFunc("GET /v1/projects/{name}", f.authed(false, f.getProject))
	mux.HandleFunc("DELETE /v1/projects/{name}", f.authed(false, f.deleteProject))
	mux.HandleFunc("POST /v1/projects/{name}/namespaces", f.authed(false, f.addNamespace))
	mux.HandleFunc("DELETE /v1/projects/{name}/namespaces/{namespace}", f.authed(false, f.removeNamespace))
	mux.HandleFunc("GET /v1/members", f.authed(false, f.listMembers))
	mux.HandleFunc("POST /v1/members", f.authed(false, f.addMember))
	mux.HandleFunc("DELETE /v1/members/{name}", f.authed(false, f.removeMember))
}

// sorted returns the values of m ordered by key.
func sorted[T any](m map[string]T, keep func(T) bool) []T {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if keep(v) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func (f *fakeServer) listRoles(w http.ResponseWriter, _ *http.Request, _ herdapi.User) {
	items := sorted(f.roles, func(herdapi.Role) bool { return true })
	reply(w, 200, herdapi.RoleList{Items: items})
}

func (f *fakeServer) getRole(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	role, ok := f.roles[r.PathValue("name")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "role not found")
		return
	}
	role.EffectiveRules = append([]rbacv1.PolicyRule{}, role.Rules...)
	for _, name := range role.Inherits {
		role.EffectiveRules = append(role.EffectiveRules, f.roles[name].Rules...)
	}
	reply(w, 200, role)
}

func (f *fakeServer) listProjects(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	cluster := r.URL.Query().Get("cluster")
	items := sorted(f.projects, func(p herdapi.Project) bool { return cluster == "" || p.ClusterName == cluster })
	reply(w, 200, herdapi.ProjectList{Items: items})
}

func (f *fakeServer) createProject(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	var req herdapi.ProjectCreateRequest
	decode(r, &req)
	if _, ok := f.clusters[req.ClusterName]; !ok {
		fail(w, 422, metav1.StatusReasonInvalid, "cluster "+req.ClusterName+" does not exist")
		return
	}
	if _, ok := f.projects[req.Name]; ok {
		fail(w, 409, metav1.StatusReasonAlreadyExists, "project already exists")
		return
	}
	p := herdapi.Project{Name: req.Name, ClusterName: req.ClusterName, DisplayName: req.DisplayName, Description: req.Description, Namespaces: []string{}, CreatedAt: testNow}
	f.projects[p.Name] = p
	reply(w, 201, p)
}

func (f *fakeServer) getProject(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	p, ok := f.projects[r.PathValue("name")]
	if !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "project not found")
		return
	}
	reply(w, 200, p)
}

func (f *fakeServer) deleteProject(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	if _, ok := f.projects[r.PathValue("name")]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "project not found")
		return
	}
	delete(f.projects, r.PathValue("name"))
	w.WriteHeader(204)
}

func (f *fakeServer) addNamespace(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	p, ok := f.projects[r.PathValue("name")]
	var req herdapi.ProjectNamespaceRequest
	decode(r, &req)
	switch {
	case !ok:
		fail(w, 404, metav1.StatusReasonNotFound, "project not found")
		return
	case !f.namespaces[req.Namespace] && !req.Create:
		fail(w, 404, metav1.StatusReasonNotFound, "namespace not found")
		return
	}
	for _, other := range f.projects {
		if other.Name != p.Name && slices.Contains(other.Namespaces, req.Namespace) {
			fail(w, 409, metav1.StatusReasonConflict, "namespace is in another project")
			return
		}
	}
	f.namespaces[req.Namespace] = true
	if !slices.Contains(p.Namespaces, req.Namespace) {
		p.Namespaces = append(p.Namespaces, req.Namespace)
		slices.Sort(p.Namespaces)
	}
	f.projects[p.Name] = p
	reply(w, 200, p)
}

func (f *fakeServer) removeNamespace(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	p, ok := f.projects[r.PathValue("name")]
	i := slices.Index(p.Namespaces, r.PathValue("namespace"))
	if !ok || i < 0 {
		fail(w, 404, metav1.StatusReasonNotFound, "not found")
		return
	}
	p.Namespaces = slices.Delete(p.Namespaces, i, i+1)
	f.projects[p.Name] = p
	w.WriteHeader(204)
}

func (f *fakeServer) listMembers(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	cluster, project := r.URL.Query().Get("cluster"), r.URL.Query().Get("project")
	switch {
	case (cluster == "") == (project == ""):
		fail(w, 400, metav1.StatusReasonBadRequest, "give cluster or project")
		return
	case cluster != "" && f.clusters[cluster].Name == "", project != "" && f.projects[project].Name == "":
		fail(w, 404, metav1.StatusReasonNotFound, "not found")
		return
	}
	items := sorted(f.members, func(m herdapi.Member) bool {
		return project != "" && m.ProjectName == project || cluster != "" && m.ProjectName == "" && m.ClusterName == cluster
	})
	reply(w, 200, herdapi.MemberList{Items: items})
}

func (f *fakeServer) addMember(w http.ResponseWriter, r *http.Request, me herdapi.User) {
	var req herdapi.MemberRequest
	decode(r, &req)
	if !slices.Contains(me.GlobalRoles, "admin") {
		fail(w, 403, metav1.StatusReasonForbidden, "forbidden: binding "+req.RoleTemplate+" would grant more than you hold")
		return
	}
	if _, ok := f.roles[req.RoleTemplate]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "role template "+req.RoleTemplate+" not found")
		return
	}
	f.seq++
	m := herdapi.Member{ClusterName: req.ClusterName, ProjectName: req.ProjectName, RoleTemplate: req.RoleTemplate,
		Username: req.Username, UserName: f.users[req.Username].Name, Group: req.Group, CreatedAt: testNow}
	m.Name = fmt.Sprintf("crtb-m%d", f.seq)
	if req.ProjectName != "" {
		m.ClusterName = f.projects[req.ProjectName].ClusterName
		m.Name = strings.Replace(m.Name, "crtb", "prtb", 1)
	}
	f.members[m.Name] = m
	reply(w, 201, m)
}

func (f *fakeServer) removeMember(w http.ResponseWriter, r *http.Request, _ herdapi.User) {
	if _, ok := f.members[r.PathValue("name")]; !ok {
		fail(w, 404, metav1.StatusReasonNotFound, "member not found")
		return
	}
	delete(f.members, r.PathValue("name"))
	w.WriteHeader(204)
}
