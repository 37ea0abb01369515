package authz_test

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/roles"
)

// TestRuleCache: kept global rules are used until the cache is
// invalidated (a GlobalRole or GlobalRoleBinding changed), then read anew;
// identities with other groups are kept apart.
func TestRuleCache(t *testing.T) {
	ctx := context.Background()
	a := newAuthorizer(t, grb("b", roles.GlobalAdmin, v1.Subject{UserName: "u-1"}))
	a.Rules = &authz.RuleCache{}
	c := a.Cache.(client.Client)
	u := &authn.Identity{UserName: "u-1"}
	if !a.Allowed(ctx, u, "delete", "users") {
		t.Fatal("a global admin may not delete users")
	}
	var b v1.GlobalRoleBinding
	if err := c.Get(ctx, client.ObjectKey{Name: "b"}, &b); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if !a.Allowed(ctx, u, "delete", "users") {
		t.Error("the kept rules were not used before the cache was invalidated")
	}
	if grouped := (&authn.Identity{UserName: "u-1", Groups: []string{"g"}}); a.Allowed(ctx, grouped, "delete", "users") {
		t.Error("the rules kept for u-1 without groups were used for u-1 with a group")
	}
	a.Rules.Invalidate()
	if a.Allowed(ctx, u, "delete", "users") {
		t.Error("after the binding was deleted and the cache invalidated, u-1 may still delete users")
	}
}
