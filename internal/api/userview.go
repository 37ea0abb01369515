package api

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/store"
)

func (a *API) apiUser(ctx context.Context, u *v1.User) herdapi.User {
	return herdapi.User{
		Name:         u.Name,
		Username:     u.Spec.Username,
		DisplayName:  u.Spec.DisplayName,
		Enabled:      u.Spec.Enabled,
		PrincipalIDs: u.Spec.PrincipalIDs,
		GlobalRoles:  a.authz.GlobalRoles(ctx, &authn.Identity{UserName: u.Name, Groups: u.Status.GroupPrincipals}),
		Groups:       u.Status.GroupPrincipals,
		CreatedAt:    u.CreationTimestamp.Time,
	}
}

// awaitCache waits until this replica's cache has seen a write (see
// store.Await).
func (a *API) awaitCache(ctx context.Context, obj client.Object, gone bool) {
	store.Await(ctx, a.cache, obj, gone, a.log)
}
