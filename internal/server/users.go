package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

var secretGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

// createUser creates a local User and binds roles (nil: the roles marked
// newUserDefault). The password is set separately. It returns an
// AlreadyExists error for a taken username.
func (s *Server) createUser(ctx context.Context, username, displayName string, roles []string) (*v1.User, error) {
	name := authn.UserObjectName(username)
	user := &v1.User{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.UserSpec{
			Username:          username,
			DisplayName:       displayName,
			PrincipalIDs:      []string{authn.LocalPrincipal(name)},
			Enabled:           true,
			PasswordSecretRef: authn.PasswordSecretName(name),
		},
	}
	if err := s.client.Create(ctx, user); err != nil {
		return nil, err
	}
	if roles == nil {
		roles = s.newUserRoles(ctx)
	}
	for _, role := range roles {
		grb := &v1.GlobalRoleBinding{
			ObjectMeta: metav1.ObjectMeta{
				Name:            "grb-" + name + "-" + role,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "User", Name: name, UID: user.UID}},
			},
			Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: role, Subject: v1.Subject{UserName: name}},
		}
		if err := s.client.Create(ctx, grb); err != nil && !apierrors.IsAlreadyExists(err) {
			return user, fmt.Errorf("failed to bind global role %s to user %s: %w", role, name, err)
		}
	}
	return user, nil
}

func (s *Server) newUserRoles(ctx context.Context) []string {
	var list v1.GlobalRoleList
	if err := s.cache.List(ctx, &list); err != nil {
		return nil
	}
	roles := []string{}
	for _, r := range list.Items {
		if r.Spec.NewUserDefault {
			roles = append(roles, r.Name)
		}
	}
	return roles
}

func (s *Server) apiUser(ctx context.Context, u *v1.User) herdapi.User {
	return herdapi.User{
		Name:         u.Name,
		Username:     u.Spec.Username,
		DisplayName:  u.Spec.DisplayName,
		Enabled:      u.Spec.Enabled,
		PrincipalIDs: u.Spec.PrincipalIDs,
		GlobalRoles:  s.authz.GlobalRoles(ctx, &authn.Identity{UserName: u.Name, Groups: u.Status.GroupPrincipals}),
		Groups:       u.Status.GroupPrincipals,
		CreatedAt:    u.CreationTimestamp.Time,
	}
}

// awaitCache waits until this replica's cache has seen the write that
// returned obj (or, with gone, its deletion), so the caller's next request
// sees its own change. It gives up after five seconds.
func (s *Server) awaitCache(ctx context.Context, obj client.Object, gone bool) {
	want, _ := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	cached := obj.DeepCopyObject().(client.Object)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		err := s.cache.Get(ctx, client.ObjectKeyFromObject(obj), cached)
		if gone && apierrors.IsNotFound(err) {
			return
		}
		if !gone && err == nil {
			if got, _ := strconv.ParseUint(cached.GetResourceVersion(), 10, 64); got >= want {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.cfg.Logger.Warn("the cache did not catch up with a write", "object", obj.GetName())
}
