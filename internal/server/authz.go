package server

import (
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
)

// allowed reports whether id may do verb on resource of Herd's API group,
// by the rules of the GlobalRoles bound to the user (read from the cache).
func (s *Server) allowed(ctx context.Context, id *authn.Identity, verb, resource string) bool {
	for _, role := range s.globalRoles(ctx, id.UserName) {
		var gr v1.GlobalRole
		if s.cache.Get(ctx, client.ObjectKey{Name: role}, &gr) != nil {
			continue
		}
		for _, rule := range gr.Spec.Rules {
			if matches(rule.Verbs, verb) && matches(rule.APIGroups, v1.GroupVersion.Group) && matches(rule.Resources, resource) {
				return true
			}
		}
	}
	return false
}

func matches(list []string, want string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, want)
}

// globalRoles lists the GlobalRoles bound to a user, sorted.
func (s *Server) globalRoles(ctx context.Context, userName string) []string {
	var grbs v1.GlobalRoleBindingList
	if err := s.cache.List(ctx, &grbs, client.MatchingFields{subjectUserIndex: userName}); err != nil {
		s.cfg.Logger.Error("failed to list global role bindings", "user", userName, "err", err)
		return nil
	}
	var roles []string
	for _, b := range grbs.Items {
		roles = append(roles, b.Spec.GlobalRoleName)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}
