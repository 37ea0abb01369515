package api

import (
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
)

// createMember writes the binding of a checked member request.
func (a membersAPI) createMember(w http.ResponseWriter, r *http.Request, id *authn.Identity, sc *scope, template string, subject v1.Subject) {
	var obj client.Object
	if sc.project != nil {
		obj = newPRTB(sc.project, template, subject)
	} else {
		var c v1.Cluster
		if err := a.cache.Get(r.Context(), client.ObjectKey{Name: sc.cluster}, &c); err != nil {
			a.internal(w, r, err)
			return
		}
		obj = newCRTB(&c, template, subject)
	}
	if err := a.client.Create(r.Context(), obj); err != nil {
		if apierrors.IsAlreadyExists(err) {
			a.fail(w, r, http.StatusConflict, metav1.StatusReasonAlreadyExists, "that member already has that role in "+sc.String(), err)
			return
		}
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), obj, false)
	a.audit.Info("member added", "binding", obj.GetName(), "scope", sc.String(), "role", template,
		"user", subject.UserName, "group", subject.GroupPrincipalID, "actor", id.UserName)
	var st v1.Status
	writeJSON(w, http.StatusCreated, a.apiMember(r, obj.GetName(), sc.cluster, projectName(sc), template, subject, st, metav1.NewTime(a.now())))
}

func projectName(sc *scope) string {
	if sc.project != nil {
		return sc.project.Name
	}
	return ""
}

// handleRemoveMember deletes a binding the caller may manage.
func (a membersAPI) handleRemoveMember(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	name := r.PathValue("name")
	var (
		crtb v1.ClusterRoleTemplateBinding
		prtb v1.ProjectRoleTemplateBinding
		obj  client.Object
		sc   *scope
		ok   bool
	)
	switch {
	case a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &crtb) == nil:
		obj = &crtb
		sc, ok = a.resolveScope(w, r, id, crtb.Spec.ClusterName, "")
	case a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &prtb) == nil:
		obj = &prtb
		sc, ok = a.resolveScope(w, r, id, "", prtb.Spec.ProjectName)
	default:
		a.notFound(w, r, "member "+name)
		return
	}
	if !ok {
		return
	}
	if !a.mayManage(r, id, sc, "delete") {
		a.forbidden(w, r, id, "manage members of "+sc.String())
		return
	}
	a.deleteObject(w, r, id, obj, "member")
}
