package api

import (
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// handleListRoles lists the global roles and role templates.
func (a rolesAPI) handleListRoles(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var (
		templates v1.RoleTemplateList
		globals   v1.GlobalRoleList
	)
	if err := a.cache.List(r.Context(), &templates); err != nil {
		a.internal(w, r, err)
		return
	}
	if err := a.cache.List(r.Context(), &globals); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.RoleList{Items: []herdapi.Role{}}
	for i := range globals.Items {
		out.Items = append(out.Items, apiGlobalRole(&globals.Items[i]))
	}
	for i := range templates.Items {
		out.Items = append(out.Items, apiRoleTemplate(&templates.Items[i]))
	}
	slices.SortFunc(out.Items, func(a, b herdapi.Role) int {
		return strings.Compare(contextOrder(a.Context)+a.Name, contextOrder(b.Context)+b.Name)
	})
	writeJSON(w, http.StatusOK, out)
}

func contextOrder(c string) string {
	return map[string]string{herdapi.ContextGlobal: "0", herdapi.ContextCluster: "1", herdapi.ContextProject: "2"}[c]
}

// handleGetRole shows a role template (or else a global role) with its
// effective rules.
func (a rolesAPI) handleGetRole(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	name := r.PathValue("name")
	var rt v1.RoleTemplate
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &rt); err == nil {
		out := apiRoleTemplate(&rt)
		out.EffectiveRules, _ = a.authz.TemplateRules(r.Context(), name)
		writeJSON(w, http.StatusOK, out)
		return
	}
	var gr v1.GlobalRole
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &gr); err != nil {
		a.notFound(w, r, "role "+name)
		return
	}
	out := apiGlobalRole(&gr)
	out.EffectiveRules = out.Rules
	writeJSON(w, http.StatusOK, out)
}

func apiGlobalRole(g *v1.GlobalRole) herdapi.Role {
	return herdapi.Role{Name: g.Name, DisplayName: g.Spec.DisplayName, Context: herdapi.ContextGlobal, Builtin: g.Spec.Builtin,
		Rules: g.Spec.Rules, Ready: string(metav1.ConditionTrue)}
}

func apiRoleTemplate(t *v1.RoleTemplate) herdapi.Role {
	out := herdapi.Role{Name: t.Name, DisplayName: t.Spec.DisplayName, Context: t.Spec.Context, Builtin: t.Spec.Builtin,
		Inherits: t.Spec.RoleTemplateNames, Rules: t.Spec.Rules, Ready: string(metav1.ConditionUnknown)}
	if c := meta.FindStatusCondition(t.Status.Conditions, v1.ConditionReady); c != nil {
		out.Ready = string(c.Status)
		if c.Status != metav1.ConditionTrue {
			out.Message = c.Message
		}
	}
	return out
}
