package api

import (
	"net/http"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

func (a membersAPI) handleListMembers(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	q := r.URL.Query()
	items, err := a.members.List(r.Context(), id, q.Get("cluster"), q.Get("project"))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, herdapi.MemberList{Items: items})
}

func (a membersAPI) handleAddMember(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.MemberRequest
	if !a.decode(w, r, &req) {
		return
	}
	m, err := a.members.Add(r.Context(), id, req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("member added", "binding", m.Name, "cluster", m.ClusterName, "project", m.ProjectName, "role", m.RoleTemplate,
		"user", m.UserName, "group", m.Group, "actor", id.UserName)
	writeJSON(w, http.StatusCreated, m)
}

// handleRemoveMember deletes a binding the caller may manage.
func (a membersAPI) handleRemoveMember(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	obj, err := a.members.Remove(r.Context(), id, r.PathValue("name"))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("member deleted", "member", obj.GetName(), "actor", id.UserName)
	w.WriteHeader(http.StatusNoContent)
}
