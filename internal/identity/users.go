package identity

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
)

var secretGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

// CreateUser creates a local User and binds roles (nil: the roles marked
// newUserDefault). The password is set separately. It returns an
// AlreadyExists error for a taken username.
func (d *Directory) CreateUser(ctx context.Context, username, displayName string, roles []string) (*v1.User, error) {
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
	if err := d.client.Create(ctx, user); err != nil {
		return nil, err
	}
	if roles == nil {
		roles = d.NewUserRoles(ctx)
	}
	for _, role := range roles {
		grb := &v1.GlobalRoleBinding{
			ObjectMeta: metav1.ObjectMeta{
				Name:            "grb-" + name + "-" + role,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "User", Name: name, UID: user.UID}},
			},
			Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: role, Subject: v1.Subject{UserName: name}},
		}
		if err := d.client.Create(ctx, grb); err != nil && !apierrors.IsAlreadyExists(err) {
			return user, fmt.Errorf("failed to bind global role %s to user %s: %w", role, name, err)
		}
	}
	return user, nil
}

func (d *Directory) NewUserRoles(ctx context.Context) []string {
	var list v1.GlobalRoleList
	if err := d.cache.List(ctx, &list); err != nil {
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

// LookupUser finds a user by local username, or by User id (u-...) for
// users of identity providers.
func (d *Directory) LookupUser(ctx context.Context, name string) (*v1.User, bool) {
	var user v1.User
	if authn.CheckUsername(name) == nil && d.cache.Get(ctx, client.ObjectKey{Name: authn.UserObjectName(name)}, &user) == nil &&
		user.Spec.PasswordSecretRef != "" {
		return &user, true
	}
	if len(name) <= 63 && strings.HasPrefix(name, "u-") && d.cache.Get(ctx, client.ObjectKey{Name: name}, &user) == nil {
		return &user, true
	}
	return nil, false
}
