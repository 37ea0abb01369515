// Package roles holds Herd's role model: the built-in GlobalRoles and
// RoleTemplates, the effective rules of a template with its inheritance
// resolved, and the no-escalation check (a caller may grant only what
// they hold themselves in that scope).
package roles

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

// Built-in global roles.
const (
	GlobalAdmin           = "admin"
	GlobalRestrictedAdmin = "restricted-admin"
	GlobalUser            = "user"
	GlobalUserBase        = "user-base"
)

// Global verbs beyond Kubernetes' own, checked on resource "clusters":
// VerbOwn makes the holder an administrator of every downstream cluster;
// VerbProxyLocal lets the holder reach the management cluster (id local).
const (
	VerbOwn        = "own"
	VerbProxyLocal = "proxy"
)

// Built-in role templates.
const (
	ClusterOwner    = "cluster-owner"
	ClusterMember   = "cluster-member"
	ProjectOwner    = "project-owner"
	ProjectMember   = "project-member"
	ReadOnly        = "read-only"
	ViewWorkloads   = "view-workloads"
	ManageWorkloads = "manage-workloads"
	ManageSecrets   = "manage-secrets"
	ViewNodes       = "view-nodes"
)

var (
	readVerbs   = []string{"get", "list", "watch"}
	allVerbs    = []string{"*"}
	mgmtGroup   = []string{v1.GroupVersion.Group}
	everything  = rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: allVerbs}
	allNonResrc = rbacv1.PolicyRule{NonResourceURLs: []string{"*"}, Verbs: allVerbs}
	// workloads are the namespaced resources of an application.
	workloads = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "endpoints", "configmaps",
			"persistentvolumeclaims", "events", "serviceaccounts", "replicationcontrollers"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
		{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "networkpolicies"}},
		{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}},
	}
)

// Everything is what a cluster administrator holds.
func Everything() []rbacv1.PolicyRule { return []rbacv1.PolicyRule{everything, allNonResrc} }

func withVerbs(rules []rbacv1.PolicyRule, verbs []string) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i, r := range rules {
		r.Verbs = verbs
		out[i] = r
	}
	return out
}

// GlobalRoles are the built-in global roles.
func GlobalRoles() []*v1.GlobalRole {
	role := func(name, display string, newUser bool, rules ...rbacv1.PolicyRule) *v1.GlobalRole {
		return &v1.GlobalRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1.GroupVersion.String(), Kind: "GlobalRole"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1.GlobalRoleSpec{DisplayName: display, Builtin: true, NewUserDefault: newUser, Rules: rules},
		}
	}
	manage := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	return []*v1.GlobalRole{
		role(GlobalAdmin, "Administrator", false, everything),
		role(GlobalRestrictedAdmin, "Restricted administrator: every downstream cluster, not the management cluster", false,
			rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{"clusters"}, Verbs: append(manage, VerbOwn)},
			rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{"clusterregistrationtokens", "projects",
				"clusterroletemplatebindings", "projectroletemplatebindings"}, Verbs: manage},
			rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{"roletemplates", "globalroles", "users"}, Verbs: readVerbs}),
		role(GlobalUser, "Standard user: sees role templates; reaches the clusters and projects they are members of", true,
			rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{"roletemplates"}, Verbs: readVerbs}),
		role(GlobalUserBase, "User base: log in and manage own tokens", false),
	}
}

// RoleTemplates are the built-in role templates.
func RoleTemplates() []*v1.RoleTemplate {
	tpl := func(name, ctx, display string, inherits []string, rules ...rbacv1.PolicyRule) *v1.RoleTemplate {
		return &v1.RoleTemplate{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1.GroupVersion.String(), Kind: "RoleTemplate"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.RoleTemplateSpec{DisplayName: display, Context: ctx, Builtin: true,
				RoleTemplateNames: inherits, Rules: rules},
		}
	}
	members := func(resource string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{resource}, Verbs: allVerbs}
	}
	nodes := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes", "namespaces", "persistentvolumes"}, Verbs: readVerbs}
	storage := rbacv1.PolicyRule{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: readVerbs}
	exec := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}, Verbs: []string{"get", "create"}}
	return []*v1.RoleTemplate{
		tpl(ClusterOwner, v1.ContextCluster, "Cluster owner: everything in the cluster, and its members", nil,
			everything, allNonResrc, members("clusterroletemplatebindings"), members("projects"), members("projectroletemplatebindings")),
		tpl(ClusterMember, v1.ContextCluster, "Cluster member: sees nodes and namespaces, creates projects", []string{ViewNodes},
			rbacv1.PolicyRule{APIGroups: mgmtGroup, Resources: []string{"projects"}, Verbs: []string{"create"}}, storage),
		tpl(ViewNodes, v1.ContextCluster, "View nodes, namespaces and persistent volumes", nil, nodes),
		tpl(ProjectOwner, v1.ContextProject, "Project owner: everything in the project's namespaces, and its members", nil,
			everything, members("projectroletemplatebindings")),
		tpl(ProjectMember, v1.ContextProject, "Project member: runs workloads and manages secrets", []string{ManageWorkloads, ManageSecrets}),
		tpl(ReadOnly, v1.ContextProject, "Read-only: views workloads", []string{ViewWorkloads}),
		tpl(ViewWorkloads, v1.ContextProject, "View workloads", nil, withVerbs(workloads, readVerbs)...),
		tpl(ManageWorkloads, v1.ContextProject, "Manage workloads, exec and port-forward", []string{ViewWorkloads},
			append(withVerbs(workloads, allVerbs), exec)...),
		tpl(ManageSecrets, v1.ContextProject, "Manage secrets", nil,
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: allVerbs}),
	}
}
