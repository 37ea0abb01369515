package server

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

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "list", "users") {
		s.forbidden(w, r, id, "list users")
		return
	}
	var list v1.UserList
	if err := s.cache.List(r.Context(), &list); err != nil {
		s.internal(w, r, err)
		return
	}
	out := herdapi.UserList{Items: []herdapi.User{}}
	for i := range list.Items {
		out.Items = append(out.Items, s.apiUser(r.Context(), &list.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "create", "users") {
		s.forbidden(w, r, id, "create users")
		return
	}
	var req herdapi.UserCreateRequest
	if !s.decode(w, r, &req) {
		return
	}
	if msg := s.checkNewUser(r.Context(), &req); msg != "" {
		s.invalid(w, r, msg)
		return
	}
	if role, missing := s.authz.GlobalEscalation(r.Context(), id, req.GlobalRoles); len(missing) > 0 {
		s.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden,
			fmt.Sprintf("forbidden: global role %s grants permissions you do not hold (%s)", role, roles.Describe(missing, 3)),
			fmt.Errorf("user %s may not grant global role %s: escalation", id.UserName, role))
		return
	}
	user, err := s.dir.CreateUser(r.Context(), req.Username, req.DisplayName, req.GlobalRoles)
	if apierrors.IsAlreadyExists(err) {
		s.fail(w, r, http.StatusConflict, "AlreadyExists", "username "+req.Username+" is taken", nil)
		return
	}
	if err == nil {
		err = authn.SetPassword(r.Context(), s.client, wellknown.Namespace, user, req.Password)
	}
	if err != nil {
		if user != nil { // do not leave a user without its password or roles
			_ = s.client.Delete(context.WithoutCancel(r.Context()), user)
		}
		s.internal(w, r, err)
		return
	}
	s.awaitCache(r.Context(), user, false)
	s.audit.Info("user created", "actor", id.UserName, "user", user.Name, "username", req.Username, "globalRoles", req.GlobalRoles, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, s.apiUser(r.Context(), user))
}

// checkNewUser returns what is wrong with req, or "".
func (s *Server) checkNewUser(ctx context.Context, req *herdapi.UserCreateRequest) string {
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
		if s.cache.Get(ctx, client.ObjectKey{Name: role}, &v1.GlobalRole{}) != nil {
			return "global role " + role + " does not exist"
		}
	}
	return ""
}

// targetUser resolves {username}; it answers 404 itself when there is no
// such user or when the caller may neither act on others nor is that user.
func (s *Server) targetUser(w http.ResponseWriter, r *http.Request, id *authn.Identity, verb string) (*v1.User, bool) {
	name := r.PathValue("username")
	user, found := s.lookupUser(r, name)
	// Self is the same User object, not the same login name: an LDAP user
	// called admin is not the local admin.
	self := found && user.Name == id.UserName
	if !self && !s.authz.Allowed(r.Context(), id, verb, "users") {
		s.forbidden(w, r, id, verb+" other users")
		return nil, false
	}
	if !found {
		s.notFound(w, r, "user "+name)
		return nil, false
	}
	if !self && verb != "get" {
		// Managing a user (their password, tokens, state) is acting as
		// them: it takes every global right they hold, as binding does.
		if missing := s.authz.ToManage(r.Context(), id, identityOf(user)); len(missing) > 0 {
			s.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden,
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
func (s *Server) lookupUser(r *http.Request, name string) (*v1.User, bool) {
	var user v1.User
	if authn.CheckUsername(name) == nil && s.cache.Get(r.Context(), client.ObjectKey{Name: authn.UserObjectName(name)}, &user) == nil &&
		user.Spec.PasswordSecretRef != "" {
		return &user, true
	}
	if len(name) <= 63 && strings.HasPrefix(name, "u-") && s.cache.Get(r.Context(), client.ObjectKey{Name: name}, &user) == nil {
		return &user, true
	}
	return nil, false
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if user, ok := s.targetUser(w, r, id, "get"); ok {
		writeJSON(w, http.StatusOK, s.apiUser(r.Context(), user))
	}
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.UserUpdateRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !s.authz.Allowed(r.Context(), id, "update", "users") {
		s.forbidden(w, r, id, "change users")
		return
	}
	user, ok := s.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	switch {
	case req.Enabled != nil && !*req.Enabled && user.Name == id.UserName:
		s.fail(w, r, http.StatusConflict, "Conflict", "you cannot disable yourself; ask another administrator", nil)
		return
	case req.DisplayName != nil && len(*req.DisplayName) > 253:
		s.invalid(w, r, "displayName is longer than 253 bytes")
		return
	}
	updated, err := s.updateUser(r.Context(), user.Name, func(u *v1.User) {
		if req.Enabled != nil {
			u.Spec.Enabled = *req.Enabled
		}
		if req.DisplayName != nil {
			u.Spec.DisplayName = *req.DisplayName
		}
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.audit.Info("user updated", "actor", id.UserName, "user", user.Name, "enabled", updated.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, s.apiUser(r.Context(), updated))
}

// updateUser applies change to the current User, retrying on conflicts,
// and waits for the cache to see it.
func (s *Server) updateUser(ctx context.Context, name string, change func(*v1.User)) (*v1.User, error) {
	var user v1.User
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.api.Get(ctx, client.ObjectKey{Name: name}, &user); err != nil {
			return err
		}
		change(&user)
		return s.client.Update(ctx, &user)
	})
	if err != nil {
		return nil, err
	}
	s.awaitCache(ctx, &user, false)
	return &user, nil
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "delete", "users") {
		s.forbidden(w, r, id, "delete users")
		return
	}
	user, ok := s.targetUser(w, r, id, "delete")
	if !ok {
		return
	}
	if user.Name == id.UserName {
		s.fail(w, r, http.StatusConflict, "Conflict", "you cannot delete yourself; ask another administrator", nil)
		return
	}
	// Tokens, password Secret and bindings are owned by the User and go
	// with it; the authenticator refuses a deleted user's tokens at once.
	s.deleteObject(w, r, id, user, "user")
}

func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.PasswordRequest
	if !s.decode(w, r, &req) {
		return
	}
	user, ok := s.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	if user.Spec.PasswordSecretRef == "" {
		s.invalid(w, r, "user "+user.Name+" logs in through an identity provider and has no Herd password")
		return
	}
	if err := authn.CheckPassword(req.Password); err != nil {
		s.invalid(w, r, strings.TrimPrefix(err.Error(), "authn: "))
		return
	}
	if user.Name == id.UserName {
		if _, err := s.dir.PasswordLogin(r.Context(), authn.ProviderLocal, user.Spec.Username, req.CurrentPassword); err != nil {
			if errors.Is(err, authn.ErrBadCredentials) {
				s.fail(w, r, http.StatusForbidden, "Forbidden", "currentPassword is wrong", err)
				return
			}
			s.internal(w, r, err)
			return
		}
	}
	if err := authn.SetPassword(r.Context(), s.client, wellknown.Namespace, user, req.Password); err != nil {
		s.internal(w, r, err)
		return
	}
	s.audit.Info("password changed", "actor", id.UserName, "user", user.Name, "source", sourceAddr(r))
	w.WriteHeader(http.StatusNoContent)
}

// handleRefreshUser refreshes one user's groups now.
func (s *Server) handleRefreshUser(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "update", "users") {
		s.forbidden(w, r, id, "refresh users")
		return
	}
	user, ok := s.targetUser(w, r, id, "update")
	if !ok {
		return
	}
	if err := s.dir.RefreshUser(r.Context(), user); err != nil {
		if errors.Is(err, authn.ErrProviderUnavailable) {
			s.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the identity provider does not answer; try again later", err)
			return
		}
		s.internal(w, r, err)
		return
	}
	var fresh v1.User
	if err := s.cache.Get(r.Context(), client.ObjectKey{Name: user.Name}, &fresh); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiUser(r.Context(), &fresh))
}
