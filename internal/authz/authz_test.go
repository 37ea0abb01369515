package authz_test

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
)

// newAuthorizer is an Authorizer over a fake cache with Herd's built-in
// roles, indexes and objs.
func newAuthorizer(t *testing.T, objs ...client.Object) *authz.Authorizer {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	for _, r := range roles.GlobalRoles() {
		objs = append(objs, r)
	}
	for _, r := range roles.RoleTemplates() {
		objs = append(objs, r)
	}
	return &authz.Authorizer{Cache: b.WithObjects(objs...).Build()}
}

func grb(name, role string, s v1.Subject) *v1.GlobalRoleBinding {
	return &v1.GlobalRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: role, Subject: s}}
}

func TestAuthorizer(t *testing.T) {
	ctx := context.Background()
	named := &v1.GlobalRole{ObjectMeta: metav1.ObjectMeta{Name: "one-cluster"}, Spec: v1.GlobalRoleSpec{Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"clusters"}, Verbs: []string{"get", "delete"}, ResourceNames: []string{"c1"}},
	}}}
	a := newAuthorizer(t,
		named,
		&v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1"}},
		&v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c2"}},
		&v1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Spec: v1.ProjectSpec{ClusterName: "c2"}},
		grb("admin", roles.GlobalAdmin, v1.Subject{UserName: "u-admin"}),
		grb("radmin", roles.GlobalRestrictedAdmin, v1.Subject{GroupPrincipalID: "oidc_group://x/ops"}),
		grb("named", "one-cluster", v1.Subject{UserName: "u-named"}),
		&v1.ClusterRoleTemplateBinding{ObjectMeta: metav1.ObjectMeta{Name: "crtb"},
			Spec: v1.ClusterRoleTemplateBindingSpec{ClusterName: "c1", RoleTemplateName: roles.ClusterMember, Subject: v1.Subject{UserName: "u-member"}}},
		&v1.ProjectRoleTemplateBinding{ObjectMeta: metav1.ObjectMeta{Name: "prtb"},
			Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: "p1", RoleTemplateName: roles.ProjectOwner, Subject: v1.Subject{GroupPrincipalID: "github_team://1"}}},
	)
	admin := &authn.Identity{UserName: "u-admin"}
	radmin := &authn.Identity{UserName: "u-r", Groups: []string{"oidc_group://x/ops"}}
	namedUser := &authn.Identity{UserName: "u-named"}
	member := &authn.Identity{UserName: "u-member"}
	teamed := &authn.Identity{UserName: "u-team", Groups: []string{"github_team://1"}}
	nobody := &authn.Identity{UserName: "u-nobody"}

	t.Run("global rights", func(t *testing.T) {
		for _, tt := range []struct {
			name           string
			id             *authn.Identity
			verb, resource string
			want           bool
		}{
			{"admin may anything", admin, "delete", "users", true},
			{"a * verb includes own", admin, roles.VerbOwn, "clusters", true},
			{"restricted admin through a group owns clusters", radmin, roles.VerbOwn, "clusters", true},
			{"restricted admin may not proxy to local", radmin, roles.VerbProxyLocal, "clusters", false},
			{"a rule with resourceNames grants nothing", namedUser, "delete", "clusters", false},
			{"nobody may nothing", nobody, "get", "clusters", false},
		} {
			if got := a.Allowed(ctx, tt.id, tt.verb, tt.resource); got != tt.want {
				t.Errorf("%s: Allowed(%s %s) = %v, want %v", tt.name, tt.verb, tt.resource, got, tt.want)
			}
		}
	})
	t.Run("cluster administrators", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			id      *authn.Identity
			cluster string
			want    bool
		}{
			{"admin of a downstream cluster", admin, "c1", true},
			{"admin of local", admin, "local", true},
			{"restricted admin of a downstream cluster", radmin, "c1", true},
			{"restricted admin of local", radmin, "local", false},
			{"a cluster member is not its administrator", member, "c1", false},
		} {
			if got := a.IsClusterAdmin(ctx, tt.id, tt.cluster); got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
	t.Run("reaching clusters", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			id      *authn.Identity
			cluster string
			want    bool
		}{
			{"a cluster member", member, "c1", true},
			{"a cluster member, another cluster", member, "c2", false},
			{"a project member through a group", teamed, "c2", true},
			{"a project member, another cluster", teamed, "c1", false},
			{"admin, local", admin, "local", true},
			{"member, local", member, "local", false},
			{"unknown cluster", admin, "c9", false},
			{"nobody", nobody, "c1", false},
		} {
			if _, got := a.ReachableCluster(ctx, tt.id, tt.cluster); got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
	t.Run("rules in a cluster and a project", func(t *testing.T) {
		p := &v1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Spec: v1.ProjectSpec{ClusterName: "c2"}}
		if !a.VisibleProject(ctx, teamed, p) || a.VisibleProject(ctx, member, p) {
			t.Error("the project is visible to its members only")
		}
		podsInProject := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}}}
		if len(roles.Missing(a.ProjectRules(ctx, teamed, p), podsInProject)) != 0 {
			t.Error("a project owner may not delete pods in the project")
		}
		if a.MayInCluster(ctx, teamed, "c2", "create", "projects") {
			t.Error("a project owner may create projects in the cluster")
		}
		if !a.MayInCluster(ctx, admin, "c2", "create", "projects") {
			t.Error("an admin may not create projects")
		}
	})
	t.Run("no escalation", func(t *testing.T) {
		if role, missing := a.GlobalEscalation(ctx, radmin, []string{roles.GlobalAdmin}); role != roles.GlobalAdmin || len(missing) == 0 {
			t.Errorf("a restricted admin granting admin: got %s %v, want the missing rules", role, missing)
		}
		if role, _ := a.GlobalEscalation(ctx, admin, []string{roles.GlobalRestrictedAdmin, roles.GlobalUser}); role != "" {
			t.Errorf("an admin granting lesser roles: got escalation by %s", role)
		}
		if len(a.ToManage(ctx, radmin, admin)) == 0 {
			t.Error("a restricted admin may manage an admin")
		}
		if len(a.ToManage(ctx, admin, radmin)) != 0 {
			t.Error("an admin may not manage a restricted admin")
		}
	})
}
