package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/wellknown"
)

// ExternalUser finds or makes the Herd user of a provider's identity and
// records its groups (and refresh state) as the provider reported them.
func (d *Directory) ExternalUser(ctx context.Context, ident *authn.ExternalIdentity) (*v1.User, error) {
	if err := d.MayLogIn(ctx, ident); err != nil {
		return nil, err
	}
	ident.Username, ident.DisplayName = clip(ident.Username, 128), clip(ident.DisplayName, 253)
	if len(ident.Groups) > maxGroups {
		d.log.Warn("identity provider reported too many groups; keeping the first ones", "principal", ident.UserPrincipal,
			"groups", len(ident.Groups), "kept", maxGroups)
		ident.Groups = ident.Groups[:maxGroups]
	}
	var list v1.UserList
	if err := d.cache.List(ctx, &list, client.MatchingFields{index.Principal: ident.UserPrincipal}); err != nil {
		return nil, err
	}
	var user *v1.User
	switch len(list.Items) {
	case 0:
		u, err := d.createExternalUser(ctx, ident)
		if err != nil {
			return nil, err
		}
		user = u
	case 1:
		user = &list.Items[0]
	default:
		return nil, fmt.Errorf("principal %s belongs to %d users", ident.UserPrincipal, len(list.Items))
	}
	if !user.Spec.Enabled {
		return nil, fmt.Errorf("%w: user %s is disabled in Herd", authn.ErrBadCredentials, user.Name)
	}
	if err := d.recordGroups(ctx, user, ident.Groups); err != nil {
		return nil, err
	}
	if ident.RefreshState != "" {
		if err := d.saveRefreshState(ctx, user, ident.RefreshState); err != nil {
			return nil, err
		}
	}
	return user, nil
}

func (d *Directory) createExternalUser(ctx context.Context, ident *authn.ExternalIdentity) (*v1.User, error) {
	name := authn.ExternalUserObjectName(ident.UserPrincipal)
	user := &v1.User{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.UserSpec{Username: ident.Username, DisplayName: ident.DisplayName,
			PrincipalIDs: []string{ident.UserPrincipal}, Enabled: true},
	}
	err := d.client.Create(ctx, user)
	if apierrors.IsAlreadyExists(err) {
		// A concurrent first login made it, or the name's hash collides.
		if err := d.api.Get(ctx, client.ObjectKey{Name: name}, user); err != nil {
			return nil, err
		}
		if !slices.Contains(user.Spec.PrincipalIDs, ident.UserPrincipal) {
			return nil, fmt.Errorf("user %s exists for other principals than %s", name, ident.UserPrincipal)
		}
		return user, nil
	}
	if err != nil {
		return nil, err
	}
	for _, role := range d.NewUserRoles(ctx) {
		grb := &v1.GlobalRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "grb-" + name + "-" + role,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "User", Name: name, UID: user.UID}}},
			Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: role, Subject: v1.Subject{UserName: name}},
		}
		if err := d.client.Create(ctx, grb); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("failed to bind global role %s to user %s: %w", role, name, err)
		}
	}
	d.await(ctx, user, false)
	d.log.Info("user created at first login", "user", name, "principal", ident.UserPrincipal, "username", ident.Username)
	return user, nil
}

// maxGroups bounds the groups kept for a user (etcd object size).
const maxGroups = 1000

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// recordGroups writes the user's groups and when they were read.
func (d *Directory) recordGroups(ctx context.Context, user *v1.User, groups []string) error {
	groups = slices.Compact(slices.Sorted(slices.Values(groups)))
	if groups == nil {
		groups = []string{}
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"groupPrincipals": groups, "groupsRefreshedAt": metav1.NewTime(d.now())}})
	if err := d.client.Status().Patch(ctx, user, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to record the groups of user %s: %w", user.Name, err)
	}
	if !slices.Equal(user.Status.GroupPrincipals, groups) {
		d.log.Info("user groups changed", "user", user.Name, "groups", len(groups))
	}
	d.await(ctx, user, false)
	return nil
}

// refreshSecretName holds a user's provider refresh state.
func refreshSecretName(user string) string { return "refresh-" + user }

func (d *Directory) saveRefreshState(ctx context.Context, user *v1.User, state string) error {
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: refreshSecretName(user.Name), Namespace: wellknown.Namespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "User", Name: user.Name, UID: user.UID}}},
		Data: map[string][]byte{"state": []byte(state)},
	}
	//nolint:staticcheck // server-side apply of a typed object
	return d.client.Patch(ctx, secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership)
}

func (d *Directory) refreshState(ctx context.Context, user string) string {
	var secret corev1.Secret
	if d.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: refreshSecretName(user)}, &secret) != nil {
		return ""
	}
	return string(secret.Data["state"])
}
