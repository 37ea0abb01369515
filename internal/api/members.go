package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
)

// bindingName derives a binding's name from what it grants, so the same
// grant made twice collides in the apiserver instead of being duplicated.
func bindingName(prefix, scope, template string, s v1.Subject) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + template + "\x00" + index.SubjectKey(s)))
	return prefix + hex.EncodeToString(sum[:])[:16]
}

func newCRTB(c *v1.Cluster, template string, s v1.Subject) *v1.ClusterRoleTemplateBinding {
	return &v1.ClusterRoleTemplateBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName("crtb-", c.Name, template, s),
			OwnerReferences: []metav1.OwnerReference{ownerRef(c, "Cluster")}},
		Spec: v1.ClusterRoleTemplateBindingSpec{ClusterName: c.Name, RoleTemplateName: template, Subject: s},
	}
}

func newPRTB(p *v1.Project, template string, s v1.Subject) *v1.ProjectRoleTemplateBinding {
	return &v1.ProjectRoleTemplateBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName("prtb-", p.Name, template, s),
			OwnerReferences: []metav1.OwnerReference{ownerRef(p, "Project")}},
		Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: p.Name, RoleTemplateName: template, Subject: s},
	}
}

// scope is where a member request applies, with what the caller holds there.
type scope struct {
	cluster  string
	project  *v1.Project
	resource string // clusterroletemplatebindings or projectroletemplatebindings
	held     []rbacv1.PolicyRule
}

func (sc scope) String() string {
	if sc.project != nil {
		return "project " + sc.project.Name
	}
	return "cluster " + sc.cluster
}

// resolveScope finds the cluster or project of a member request and what
// the caller holds there; it answers the request itself on failure.
func (a membersAPI) resolveScope(w http.ResponseWriter, r *http.Request, id *authn.Identity, cluster, project string) (*scope, bool) {
	ctx := r.Context()
	if (cluster == "") == (project == "") {
		a.invalid(w, r, "name exactly one of a cluster (--cluster) and a project (--project)")
		return nil, false
	}
	if project != "" {
		var p v1.Project
		if err := a.cache.Get(ctx, client.ObjectKey{Name: project}, &p); err != nil || !a.authz.VisibleProject(ctx, id, &p) {
			a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound, "project "+project+" does not exist; see `herdctl projects list`", err)
			return nil, false
		}
		return &scope{cluster: p.Spec.ClusterName, project: &p, resource: "projectroletemplatebindings", held: a.authz.ProjectRules(ctx, id, &p)}, true
	}
	var c v1.Cluster
	if err := a.cache.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil ||
		!(a.authz.Allowed(ctx, id, "get", "clusters") || a.authz.Member(ctx, id, cluster)) {
		a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound, "cluster "+cluster+" does not exist; see `herdctl clusters list`", err)
		return nil, false
	}
	return &scope{cluster: c.Name, resource: "clusterroletemplatebindings", held: a.authz.ClusterRules(ctx, id, c.Name)}, true
}

// mayManage reports whether id may create or delete (verb) bindings in sc.
func (a membersAPI) mayManage(r *http.Request, id *authn.Identity, sc *scope, verb string) bool {
	return a.authz.Allowed(r.Context(), id, verb, sc.resource) || len(roles.Missing(sc.held, roles.Manage(sc.resource, verb))) == 0
}

func (a membersAPI) handleListMembers(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	q := r.URL.Query()
	sc, ok := a.resolveScope(w, r, id, q.Get("cluster"), q.Get("project"))
	if !ok {
		return
	}
	out := herdapi.MemberList{Items: []herdapi.Member{}}
	if sc.project != nil {
		var list v1.ProjectRoleTemplateBindingList
		if err := a.cache.List(r.Context(), &list, client.MatchingFields{index.Project: sc.project.Name}); err != nil {
			a.internal(w, r, err)
			return
		}
		for i := range list.Items {
			b := &list.Items[i]
			out.Items = append(out.Items, a.apiMember(r, b.Name, sc.cluster, b.Spec.ProjectName, b.Spec.RoleTemplateName, b.Spec.Subject, b.Status, b.CreationTimestamp))
		}
	} else {
		var list v1.ClusterRoleTemplateBindingList
		if err := a.cache.List(r.Context(), &list, client.MatchingFields{index.Cluster: sc.cluster}); err != nil {
			a.internal(w, r, err)
			return
		}
		for i := range list.Items {
			b := &list.Items[i]
			out.Items = append(out.Items, a.apiMember(r, b.Name, sc.cluster, "", b.Spec.RoleTemplateName, b.Spec.Subject, b.Status, b.CreationTimestamp))
		}
	}
	slices.SortFunc(out.Items, func(a, b herdapi.Member) int {
		return strings.Compare(a.RoleTemplate+a.Username+a.Group, b.RoleTemplate+b.Username+b.Group)
	})
	writeJSON(w, http.StatusOK, out)
}

func (a membersAPI) apiMember(r *http.Request, name, cluster, project, template string, subj v1.Subject, st v1.Status, created metav1.Time) herdapi.Member {
	m := herdapi.Member{Name: name, ClusterName: cluster, ProjectName: project, RoleTemplate: template,
		UserName: subj.UserName, Group: subj.GroupPrincipalID, Ready: string(metav1.ConditionUnknown), CreatedAt: created.Time}
	if subj.UserName != "" {
		var u v1.User
		if a.cache.Get(r.Context(), client.ObjectKey{Name: subj.UserName}, &u) == nil {
			m.Username = u.Spec.Username
		}
	}
	if c := meta.FindStatusCondition(st.Conditions, v1.ConditionReady); c != nil {
		m.Ready = string(c.Status)
		if c.Status != metav1.ConditionTrue {
			m.Message = c.Message
		}
	}
	return m
}

// subjectOfRequest resolves the user or group of a member request.
func (a membersAPI) subjectOfRequest(w http.ResponseWriter, r *http.Request, req *herdapi.MemberRequest) (v1.Subject, bool) {
	switch {
	case (req.Username == "") == (req.Group == ""):
		a.invalid(w, r, "name exactly one of a user (--user) and a group (--group)")
		return v1.Subject{}, false
	case req.Group != "":
		subject := v1.Subject{GroupPrincipalID: req.Group}
		if err := roles.CheckSubject(subject); err != nil {
			a.invalid(w, r, err.Error())
			return v1.Subject{}, false
		}
		return subject, true
	}
	u, ok := a.lookupUser(r, req.Username)
	if !ok {
		a.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			"user "+req.Username+" does not exist; give a local username or a user id (u-...) from `herdctl users list`", nil)
		return v1.Subject{}, false
	}
	return v1.Subject{UserName: u.Name}, true
}

func (a membersAPI) handleAddMember(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.MemberRequest
	if !a.decode(w, r, &req) {
		return
	}
	sc, ok := a.resolveScope(w, r, id, req.ClusterName, req.ProjectName)
	if !ok {
		return
	}
	subject, ok := a.subjectOfRequest(w, r, &req)
	if !ok {
		return
	}
	var rt v1.RoleTemplate
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: req.RoleTemplate}, &rt); err != nil {
		a.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "role template "+req.RoleTemplate+" does not exist; see `herdctl roles list`", err)
		return
	}
	want := v1.ContextCluster
	if sc.project != nil {
		want = v1.ContextProject
	}
	if rt.Spec.Context != want {
		a.invalid(w, r, fmt.Sprintf("role template %s is for %ss; bind it with --%s", rt.Name, rt.Spec.Context, rt.Spec.Context))
		return
	}
	rules, err := a.authz.TemplateRules(r.Context(), rt.Name)
	if err != nil {
		a.invalid(w, r, "role template "+rt.Name+" cannot be used: "+err.Error())
		return
	}
	if !a.mayManage(r, id, sc, "create") {
		a.forbidden(w, r, id, "manage members of "+sc.String())
		return
	}
	if missing := roles.Missing(sc.held, rules); len(missing) > 0 {
		a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden,
			fmt.Sprintf("forbidden: role %s grants permissions you do not hold in %s (%s); ask someone who holds them",
				rt.Name, sc, roles.Describe(missing, 3)),
			fmt.Errorf("user %s may not grant %s in %s: escalation", id.UserName, rt.Name, sc))
		return
	}
	a.createMember(w, r, id, sc, rt.Name, subject)
}
