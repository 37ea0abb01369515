package server

import (
	"context"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/roles"
)

// allowed reports whether id may do verb on resource of Herd's API group,
// by the rules of the GlobalRoles bound to the user or their groups (read
// from the cache). Rules limited to resourceNames grant nothing here: the
// API does not check per object, so they must not grant on every object.
// A "*" verb includes Herd's own verbs own and proxy.
func (s *Server) allowed(ctx context.Context, id *authn.Identity, verb, resource string) bool {
	for _, rule := range s.globalRules(ctx, id) {
		if len(rule.ResourceNames) == 0 && matches(rule.Verbs, verb) && matches(rule.APIGroups, v1.GroupVersion.Group) && matches(rule.Resources, resource) {
			return true
		}
	}
	return false
}

func matches(list []string, want string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, want)
}

// globalRules are the rules of every GlobalRole bound to id.
func (s *Server) globalRules(ctx context.Context, id *authn.Identity) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, role := range s.globalRoles(ctx, id) {
		var gr v1.GlobalRole
		if s.cache.Get(ctx, client.ObjectKey{Name: role}, &gr) == nil {
			rules = append(rules, gr.Spec.Rules...)
		}
	}
	return rules
}

// globalRoles lists the GlobalRoles bound to a user or their groups, sorted.
func (s *Server) globalRoles(ctx context.Context, id *authn.Identity) []string {
	var roleNames []string
	for _, key := range subjectKeys(id.UserName, id.Groups) {
		var grbs v1.GlobalRoleBindingList
		if err := s.cache.List(ctx, &grbs, client.MatchingFields{subjectIndex: key}); err != nil {
			s.cfg.Logger.Error("failed to list global role bindings", "user", id.UserName, "err", err)
			return nil
		}
		for _, b := range grbs.Items {
			roleNames = append(roleNames, b.Spec.GlobalRoleName)
		}
	}
	slices.Sort(roleNames)
	return slices.Compact(roleNames)
}

// clusterBindings lists the ClusterRoleTemplateBindings of id (as a user
// or through a group) in a cluster.
func (s *Server) clusterBindings(ctx context.Context, id *authn.Identity, cluster string) []v1.ClusterRoleTemplateBinding {
	var out []v1.ClusterRoleTemplateBinding
	for _, key := range subjectKeys(id.UserName, id.Groups) {
		var list v1.ClusterRoleTemplateBindingList
		if err := s.cache.List(ctx, &list, client.MatchingFields{subjectIndex: key}); err != nil {
			s.cfg.Logger.Error("failed to list cluster role template bindings", "user", id.UserName, "err", err)
			return nil
		}
		for _, b := range list.Items {
			if b.Spec.ClusterName == cluster {
				out = append(out, b)
			}
		}
	}
	return out
}

// projectBindings lists the ProjectRoleTemplateBindings of id in the
// projects for which keep returns true.
func (s *Server) projectBindings(ctx context.Context, id *authn.Identity, keep func(project string) bool) []v1.ProjectRoleTemplateBinding {
	var out []v1.ProjectRoleTemplateBinding
	for _, key := range subjectKeys(id.UserName, id.Groups) {
		var list v1.ProjectRoleTemplateBindingList
		if err := s.cache.List(ctx, &list, client.MatchingFields{subjectIndex: key}); err != nil {
			s.cfg.Logger.Error("failed to list project role template bindings", "user", id.UserName, "err", err)
			return nil
		}
		for _, b := range list.Items {
			if keep(b.Spec.ProjectName) {
				out = append(out, b)
			}
		}
	}
	return out
}

// member reports whether id has a role in the cluster or in one of its
// projects.
func (s *Server) member(ctx context.Context, id *authn.Identity, cluster string) bool {
	if len(s.clusterBindings(ctx, id, cluster)) > 0 {
		return true
	}
	return len(s.projectBindings(ctx, id, func(project string) bool { return s.projectCluster(ctx, project) == cluster })) > 0
}

// projectCluster is the cluster of a project, "" if there is no such project.
func (s *Server) projectCluster(ctx context.Context, project string) string {
	var p v1.Project
	if s.cache.Get(ctx, client.ObjectKey{Name: project}, &p) != nil {
		return ""
	}
	return p.Spec.ClusterName
}

// templateRules are the effective rules of a role template from the cache.
func (s *Server) templateRules(ctx context.Context, name string) ([]rbacv1.PolicyRule, error) {
	return roles.Effective(func(n string) (*v1.RoleTemplate, error) {
		var rt v1.RoleTemplate
		if err := s.cache.Get(ctx, client.ObjectKey{Name: n}, &rt); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		return &rt, nil
	}, name)
}

// clusterRules is what id holds in a cluster as a whole: everything for
// owners of all clusters, else the rules of their cluster role templates.
func (s *Server) clusterRules(ctx context.Context, id *authn.Identity, cluster string) []rbacv1.PolicyRule {
	if s.allowed(ctx, id, roles.VerbOwn, "clusters") {
		return roles.Everything()
	}
	var rules []rbacv1.PolicyRule
	for _, b := range s.clusterBindings(ctx, id, cluster) {
		if r, err := s.templateRules(ctx, b.Spec.RoleTemplateName); err == nil {
			rules = append(rules, r...)
		}
	}
	return rules
}

// projectRules is what id holds in a project: their rules in its cluster
// and those of their project role templates.
func (s *Server) projectRules(ctx context.Context, id *authn.Identity, project *v1.Project) []rbacv1.PolicyRule {
	rules := s.clusterRules(ctx, id, project.Spec.ClusterName)
	for _, b := range s.projectBindings(ctx, id, func(p string) bool { return p == project.Name }) {
		if r, err := s.templateRules(ctx, b.Spec.RoleTemplateName); err == nil {
			rules = append(rules, r...)
		}
	}
	return rules
}

// globalEscalation returns the first of the named global roles that grants
// what id does not hold globally, with the rules missing.
func (s *Server) globalEscalation(ctx context.Context, id *authn.Identity, names []string) (string, []rbacv1.PolicyRule) {
	held := s.globalRules(ctx, id)
	for _, name := range names {
		var gr v1.GlobalRole
		if s.cache.Get(ctx, client.ObjectKey{Name: name}, &gr) != nil {
			continue // checkNewUser reports unknown roles
		}
		if missing := roles.Missing(held, gr.Spec.Rules); len(missing) > 0 {
			return name, missing
		}
	}
	return "", nil
}
