// Package authz decides what a Herd user may do: in Herd's own API, by the
// rules of the GlobalRoles bound to them or their groups; in a cluster or a
// project, by the rules of their role template bindings there. It holds
// the no-escalation rule (a grant needs every permission it grants) and the
// one decision "is this user an administrator of this cluster", which the
// proxy and the token copies both ask. It reads everything from the
// management cluster's informer cache, with the indexes of package index.
package authz

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// ErrForbidden is what operations return when the caller may not do what
// they asked; the message, after the prefix, says what and is safe to show.
var ErrForbidden = errors.New("authz: forbidden")

// Authorizer answers authorization questions from the cache.
type Authorizer struct {
	// Cache reads GlobalRoles, role templates, bindings, Projects and
	// Clusters; it must have the indexes of package index. Required.
	Cache client.Reader
	// Logger gets cache failures (which deny). Nil: discard.
	Logger *slog.Logger
	// Rules, if set, keeps identities' global rules between requests; it
	// must Watch the same cache.
	Rules *RuleCache
}

func (a *Authorizer) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// Allowed reports whether id may do verb on resource of Herd's API group,
// by the rules of the GlobalRoles bound to the user or their groups. Rules
// limited to resourceNames grant nothing here: the API does not check per
// object, so they must not grant on every object. A "*" verb includes
// Herd's own verbs own and proxy.
func (a *Authorizer) Allowed(ctx context.Context, id *authn.Identity, verb, resource string) bool {
	for _, rule := range a.GlobalRules(ctx, id) {
		if len(rule.ResourceNames) == 0 && matches(rule.Verbs, verb) && matches(rule.APIGroups, v1.GroupVersion.Group) && matches(rule.Resources, resource) {
			return true
		}
	}
	return false
}

func matches(list []string, want string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, want)
}

// GlobalRules are the rules of every GlobalRole bound to id. The result
// may be shared: callers only read it.
func (a *Authorizer) GlobalRules(ctx context.Context, id *authn.Identity) []rbacv1.PolicyRule {
	if a.Rules != nil {
		return a.Rules.rules(id.UserName, id.Groups, func() ([]rbacv1.PolicyRule, bool) { return a.globalRules(ctx, id) })
	}
	rules, _ := a.globalRules(ctx, id)
	return rules
}

// globalRules computes GlobalRules; false when the cache failed (the
// result then denies and is not kept).
func (a *Authorizer) globalRules(ctx context.Context, id *authn.Identity) ([]rbacv1.PolicyRule, bool) {
	names, err := a.globalRoles(ctx, id)
	if err != nil {
		a.log().Error("failed to list global role bindings", "user", id.UserName, "err", err)
		return nil, false
	}
	var rules []rbacv1.PolicyRule
	for _, role := range names {
		var gr v1.GlobalRole
		// Read without the cache's deep copy: the rules are only read
		// (checked on every proxied request).
		if a.Cache.Get(ctx, client.ObjectKey{Name: role}, &gr, client.UnsafeDisableDeepCopy) == nil {
			rules = append(rules, gr.Spec.Rules...)
		}
	}
	return rules, true
}

// GlobalRoles lists the GlobalRoles bound to a user or their groups, sorted.
func (a *Authorizer) GlobalRoles(ctx context.Context, id *authn.Identity) []string {
	names, err := a.globalRoles(ctx, id)
	if err != nil {
		a.log().Error("failed to list global role bindings", "user", id.UserName, "err", err)
		return nil
	}
	return names
}

func (a *Authorizer) globalRoles(ctx context.Context, id *authn.Identity) ([]string, error) {
	var roleNames []string
	for _, key := range index.SubjectKeys(id.UserName, id.Groups) {
		var grbs v1.GlobalRoleBindingList
		if err := a.Cache.List(ctx, &grbs, client.MatchingFields{index.Subject: key}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for _, b := range grbs.Items {
			roleNames = append(roleNames, b.Spec.GlobalRoleName)
		}
	}
	slices.Sort(roleNames)
	return slices.Compact(roleNames), nil
}

// IsClusterAdmin is the one decision whether id administers a cluster as
// a whole: owns every downstream cluster, or for the management cluster
// (wellknown.LocalCluster) may proxy to it. The proxy then adds the admins
// group, and so do the cluster's token copies.
func (a *Authorizer) IsClusterAdmin(ctx context.Context, id *authn.Identity, cluster string) bool {
	if cluster == wellknown.LocalCluster {
		return a.Allowed(ctx, id, roles.VerbProxyLocal, "clusters")
	}
	return a.Allowed(ctx, id, roles.VerbOwn, "clusters")
}

// ClusterBindings lists the ClusterRoleTemplateBindings of id (as a user
// or through a group) in a cluster.
func (a *Authorizer) ClusterBindings(ctx context.Context, id *authn.Identity, cluster string) []v1.ClusterRoleTemplateBinding {
	var out []v1.ClusterRoleTemplateBinding
	for _, key := range index.SubjectKeys(id.UserName, id.Groups) {
		var list v1.ClusterRoleTemplateBindingList
		if err := a.Cache.List(ctx, &list, client.MatchingFields{index.Subject: key}); err != nil {
			a.log().Error("failed to list cluster role template bindings", "user", id.UserName, "err", err)
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

// ProjectBindings lists the ProjectRoleTemplateBindings of id in the
// projects for which keep returns true.
func (a *Authorizer) ProjectBindings(ctx context.Context, id *authn.Identity, keep func(project string) bool) []v1.ProjectRoleTemplateBinding {
	var out []v1.ProjectRoleTemplateBinding
	for _, key := range index.SubjectKeys(id.UserName, id.Groups) {
		var list v1.ProjectRoleTemplateBindingList
		if err := a.Cache.List(ctx, &list, client.MatchingFields{index.Subject: key}); err != nil {
			a.log().Error("failed to list project role template bindings", "user", id.UserName, "err", err)
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

// Member reports whether id has a role in the cluster or in one of its
// projects.
func (a *Authorizer) Member(ctx context.Context, id *authn.Identity, cluster string) bool {
	if len(a.ClusterBindings(ctx, id, cluster)) > 0 {
		return true
	}
	return len(a.ProjectBindings(ctx, id, func(project string) bool { return a.ProjectCluster(ctx, project) == cluster })) > 0
}

// ProjectCluster is the cluster of a project, "" if there is no such project.
func (a *Authorizer) ProjectCluster(ctx context.Context, project string) string {
	var p v1.Project
	if a.Cache.Get(ctx, client.ObjectKey{Name: project}, &p) != nil {
		return ""
	}
	return p.Spec.ClusterName
}

// TemplateRules are the effective rules of a role template.
func (a *Authorizer) TemplateRules(ctx context.Context, name string) ([]rbacv1.PolicyRule, error) {
	return roles.Effective(func(n string) (*v1.RoleTemplate, error) {
		var rt v1.RoleTemplate
		if err := a.Cache.Get(ctx, client.ObjectKey{Name: n}, &rt); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		return &rt, nil
	}, name)
}

// ClusterRules is what id holds in a cluster as a whole: everything for
// owners of all clusters, else the rules of their cluster role templates.
func (a *Authorizer) ClusterRules(ctx context.Context, id *authn.Identity, cluster string) []rbacv1.PolicyRule {
	if a.Allowed(ctx, id, roles.VerbOwn, "clusters") {
		return roles.Everything()
	}
	var rules []rbacv1.PolicyRule
	for _, b := range a.ClusterBindings(ctx, id, cluster) {
		if r, err := a.TemplateRules(ctx, b.Spec.RoleTemplateName); err == nil {
			rules = append(rules, r...)
		}
	}
	return rules
}

// ProjectRules is what id holds in a project: their rules in its cluster
// and those of their project role templates.
func (a *Authorizer) ProjectRules(ctx context.Context, id *authn.Identity, project *v1.Project) []rbacv1.PolicyRule {
	rules := a.ClusterRules(ctx, id, project.Spec.ClusterName)
	for _, b := range a.ProjectBindings(ctx, id, func(p string) bool { return p == project.Name }) {
		if r, err := a.TemplateRules(ctx, b.Spec.RoleTemplateName); err == nil {
			rules = append(rules, r...)
		}
	}
	return rules
}

// MayInCluster reports whether id may do verb on Herd resource in a
// cluster: by a global role, or by their roles in the cluster.
func (a *Authorizer) MayInCluster(ctx context.Context, id *authn.Identity, cluster, verb, resource string) bool {
	if a.Allowed(ctx, id, verb, resource) {
		return true
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{resource}, Verbs: []string{verb}}}
	return len(roles.Missing(a.ClusterRules(ctx, id, cluster), want)) == 0
}

// VisibleProject reports whether id may see a project: globally, through
// their roles in its cluster, or as one of its members.
func (a *Authorizer) VisibleProject(ctx context.Context, id *authn.Identity, p *v1.Project) bool {
	return a.MayInCluster(ctx, id, p.Spec.ClusterName, "get", "projects") ||
		len(a.ProjectBindings(ctx, id, func(name string) bool { return name == p.Name })) > 0
}

// ReachableCluster returns the cluster of that name if id may reach it
// through the proxy: the management cluster (nil, true) for those who may
// proxy to it, another for its members and those who may see every cluster.
func (a *Authorizer) ReachableCluster(ctx context.Context, id *authn.Identity, name string) (*v1.Cluster, bool) {
	if name == wellknown.LocalCluster {
		return nil, a.Allowed(ctx, id, roles.VerbProxyLocal, "clusters")
	}
	var c v1.Cluster
	if len(name) > 63 || a.Cache.Get(ctx, client.ObjectKey{Name: name}, &c) != nil ||
		!(a.Allowed(ctx, id, "get", "clusters") || a.Member(ctx, id, name)) {
		return nil, false
	}
	return &c, true
}

// LiveCluster is ReachableCluster for what needs a cluster that is not
// being deleted (tokens and kubeconfigs for it).
func (a *Authorizer) LiveCluster(ctx context.Context, id *authn.Identity, name string) (*v1.Cluster, bool) {
	c, ok := a.ReachableCluster(ctx, id, name)
	return c, ok && (c == nil || c.DeletionTimestamp.IsZero())
}

// GlobalEscalation returns the first of the named global roles that grants
// what id does not hold globally, with the rules missing.
func (a *Authorizer) GlobalEscalation(ctx context.Context, id *authn.Identity, names []string) (string, []rbacv1.PolicyRule) {
	held := a.GlobalRules(ctx, id)
	for _, name := range names {
		var gr v1.GlobalRole
		if a.Cache.Get(ctx, client.ObjectKey{Name: name}, &gr) != nil {
			continue // the caller reports unknown roles
		}
		if missing := roles.Missing(held, gr.Spec.Rules); len(missing) > 0 {
			return name, missing
		}
	}
	return "", nil
}

// ToManage returns what caller lacks of the global rights of target:
// managing a user (their password, state, tokens) is acting as them, so
// it takes every global right they hold, as granting them would.
func (a *Authorizer) ToManage(ctx context.Context, caller, target *authn.Identity) []rbacv1.PolicyRule {
	return roles.Missing(a.GlobalRules(ctx, caller), a.GlobalRules(ctx, target))
}
