package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
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
	if msg := a.checkNewUser(r.Context(), &req); msg != "" {
		a.invalid(w, r, msg)
		return
	}
	if role, missing := a.authz.GlobalEscalation(r.Context(), id, req.GlobalRoles); len(missing) > 0 {
		a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden,
			fmt.Sprintf("forbidden: global role %s grants permissions you do not hold (%s)", role, roles.Describe(missing, 3)),
			fmt.Errorf("user %s may not grant global role %s: escalation", id.UserName, role))
		return
	}
	user, err := a.dir.CreateUser(r.Context(), req.Username, req.DisplayName, req.GlobalRoles)
	if apierrors.IsAlreadyExists(err) {
		a.fail(w, r, http.StatusConflict, "AlreadyExists", "username "+req.Username+" is taken", nil)
		return
	}
	if err == nil {
		err = authn.SetPassword(r.Context(), a.client, wellknown.Namespace, user, req.Password)
	}
	if err != nil {
		if user != nil { // do not leave a user without its password or roles
			_ = a.client.Delete(context.WithoutCancel(r.Context()), user)
		}
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), user, false)
	a.audit.Info("user created", "actor", id.UserName, "user", user.Name, "username", req.Username, "globalRoles", req.GlobalRoles, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, a.apiUser(r.Context(), user))
}

// checkNewUser returns what is wrong with req, or "".
func (a usersAPI) checkNewUser(ctx context.Context, req *herdapi.UserCreateRequest) string {
	if err := authn.CheckNewUsername(req.Username); err != nil {
		return strings.TrimPrefix(err.Error(), "authn: ")
	}
	if err := authn.CheckPassword(req.Password); err != nil {
		return strings.TrimPrefix(err.Error(), "authn: ")
	}
	if len(req.DisplayName) > 253 {
		return "displayName is longer than 253 bytes"
	}
	for _, role := range req.GlobalRoles {
		if a.cache.Get(ctx, client.ObjectKey{Name: role}, &v1.GlobalRole{}) != nil {
			return "global role " + role + " does not exist"
		}
	}
	return ""
}

// targetUser resolves {username}; it answers 404 itself when there is no
// such user or when the caller may neither act on others nor is that user.
func (a usersAPI) targetUser(w http.ResponseWriter, r *http.Request, id *authn.Identity, verb string) (*v1.User, bool) {
	name := r.PathValue("username")
	user, found := a.lookupUser(r, name)
	// Self is the same User object, not the same login name: an LDAP user
	// called admin is not the local admin.
	self := found && user.Name == id.UserName
	if !self && !a.authz.Allowed(r.Context(), id, verb, "users") {
		a.forbidden(w, r, id, verb+" other users")
		return nil, false
	}
	if !found {
		a.notFound(w, r, "user "+name)
		return nil, false
	}
	if !self && verb != "get" {
		// Managing a user (their password, tokens, state) is acting as
		// them: it takes every global right they hold, as binding does.
		if missing := a.authz.ToManage(r.Context(), id, identityOf(user)); len(missing) > 0 {
			a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden,
				fmt.Sprintf("forbidden: user %s holds global permissions you do not hold (%s)", name, roles.Describe(missing, 3)),
				fmt.Errorf("user %s may not %s user %s: escalation", id.UserName, verb, user.Name))
			return nil, false
		}
	}
	return user, true
}

// identityOf is a user as the authorizer sees them.
func identityOf(u *v1.User) *authn.Identity {
	return &authn.Identity{UserName: u.Name, Username: u.Spec.Username, Principals: u.Spec.PrincipalIDs, Groups: u.Status.GroupPrincipals}
}

// lookupUser finds a user by local username, or by User id (u-...) for
// users of identity providers.
func (a *API) lookupUser(r *http.Request, name string) (*v1.User, bool) {
	return a.dir.LookupUser(r.Context(), name)
}

func (a usersAPI) handleGetUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if user, ok := a.targetUser(w, r, id, "get"); ok {
		writeJSON(w, http.StatusOK, a.apiUser(r.Context(), user))
	}
}

func (a usersAPI) handleUpdateUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.UserUpdateRequest
	if !a.decode(w, r, &req) {
		return
	}
	user, ok := a.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	switch {
	case req.Enabled != nil && !*req.Enabled && user.Name == id.UserName:
		a.fail(w, r, http.StatusConflict, "Conflict", "you cannot disable yourself; ask another administrator", nil)
		return
	case req.DisplayName != nil && len(*req.DisplayName) > 253:
		a.invalid(w, r, "displayName is longer than 253 bytes")
		return
	}
	updated, err := a.updateUser(r.Context(), user.Name, func(u *v1.User) {
		if req.Enabled != nil {
			u.Spec.Enabled = *req.Enabled
		}
		if req.DisplayName != nil {
			u.Spec.DisplayName = *req.DisplayName
		}
	})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("user updated", "actor", id.UserName, "user", user.Name, "enabled", updated.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), updated))
}

// updateUser applies change to the current User, retrying on conflicts,
// and waits for the cache to see it.
func (a usersAPI) updateUser(ctx context.Context, name string, change func(*v1.User)) (*v1.User, error) {
	var user v1.User
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := a.api.Get(ctx, client.ObjectKey{Name: name}, &user); err != nil {
			return err
		}
		change(&user)
		return a.client.Update(ctx, &user)
	})
	if err != nil {
		return nil, err
	}
	a.awaitCache(ctx, &user, false)
	return &user, nil
}

func (a usersAPI) handleDeleteUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	user, ok := a.targetUser(w, r, id, "delete")
	if !ok {
		return
	}
	if user.Name == id.UserName {
		a.fail(w, r, http.StatusConflict, "Conflict", "you cannot delete yourself; ask another administrator", nil)
		return
	}
	// Tokens, password Secret and bindings are owned by the User and go
	// with it; the authenticator refuses a deleted user's tokens at once.
	a.deleteObject(w, r, id, user, "user")
}

func (a usersAPI) handleSetPassword(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.PasswordRequest
	if !a.decode(w, r, &req) {
		return
	}
	user, ok := a.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	if user.Spec.PasswordSecretRef == "" {
		a.invalid(w, r, "user "+user.Name+" logs in through an identity provider and has no Herd password")
		return
	}
	if err := authn.CheckPassword(req.Password); err != nil {
		a.invalid(w, r, strings.TrimPrefix(err.Error(), "authn: "))
		return
	}
	if user.Name == id.UserName {
		if _, err := a.dir.PasswordLogin(r.Context(), authn.ProviderLocal, user.Spec.Username, req.CurrentPassword); err != nil {
			if errors.Is(err, authn.ErrBadCredentials) {
				a.fail(w, r, http.StatusForbidden, "Forbidden", "currentPassword is wrong", err)
				return
			}
			a.internal(w, r, err)
			return
		}
	}
	if err := authn.SetPassword(r.Context(), a.client, wellknown.Namespace, user, req.Password); err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("password changed", "actor", id.UserName, "user", user.Name, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

// handleRefreshUser refreshes one user's groups now.
func (a usersAPI) handleRefreshUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	user, ok := a.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	if err := a.dir.RefreshUser(r.Context(), user); err != nil {
		a.respond(w, r, err)
		return
	}
	var fresh v1.User
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: user.Name}, &fresh); err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.apiUser(r.Context(), &fresh))
}
