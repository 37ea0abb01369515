package api

import (
	"net/http"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

func (a usersAPI) handleListUsers(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var list v1.UserList
	if err := a.cache.List(r.Context(), &list); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.UserList{Items: []herdapi.User{}}
	for i := range list.Items {
		out.Items = append(out.Items, a.apiUser(r.Context(), &list.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a usersAPI) handleCreateUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.UserCreateRequest
	if !a.decode(w, r, &req) {
		return
	}
	user, err := a.users.Create(r.Context(), id, req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("user created", "actor", id.UserName, "user", user.Name, "username", req.Username, "globalRoles", req.GlobalRoles, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, a.apiUser(r.Context(), user))
}

func (a usersAPI) handleGetUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	user, err := a.users.Target(r.Context(), id, r.PathValue("username"), "get")
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), user))
}

func (a usersAPI) handleUpdateUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.UserUpdateRequest
	if !a.decode(w, r, &req) {
		return
	}
	user, err := a.users.Update(r.Context(), id, r.PathValue("username"), req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("user updated", "actor", id.UserName, "user", user.Name, "enabled", user.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), user))
}

func (a usersAPI) handleDeleteUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	user, err := a.users.Delete(r.Context(), id, r.PathValue("username"))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("user deleted", "user", user.Name, "actor", id.UserName)
	w.WriteHeader(http.StatusNoContent)
}

func (a usersAPI) handleSetPassword(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.PasswordRequest
	if !a.decode(w, r, &req) {
		return
	}
	user, err := a.users.SetPassword(r.Context(), id, r.PathValue("username"), req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("password changed", "actor", id.UserName, "user", user.Name, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

// handleRefreshUser refreshes one user's groups now.
func (a usersAPI) handleRefreshUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	user, err := a.users.Refresh(r.Context(), id, r.PathValue("username"))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), user))
}
