package members_test

import (
	"context"
	"errors"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/members"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
)

var (
	alice = &authn.Identity{UserName: "u-alice", Username: "alice"} // admin
	bob   = &authn.Identity{UserName: "u-bob", Username: "bob"}     // member-admin of prod, project-owner of web
	carol = &authn.Identity{UserName: "u-carol", Username: "carol"} // no role anywhere
)

// newMembers is Members over a fake management cluster with Herd's roles,
// cluster prod, project web in prod, role template member-admin (may
// manage the cluster's members, nothing else), and bob's two bindings.
func newMembers(t *testing.T) (*members.Members, client.Client) {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	for _, r := range roles.GlobalRoles() {
		b = b.WithObjects(r)
	}
	for _, r := range roles.RoleTemplates() {
		b = b.WithObjects(r)
	}
	prod := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "prod", UID: "uid-prod"}}
	web := &v1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "uid-web"}, Spec: v1.ProjectSpec{ClusterName: "prod"}}
	memberAdmin := &v1.RoleTemplate{ObjectMeta: metav1.ObjectMeta{Name: "member-admin"}, Spec: v1.RoleTemplateSpec{Context: v1.ContextCluster,
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"clusterroletemplatebindings"}}}}}
	users := []client.Object{}
	for _, id := range []*authn.Identity{alice, bob, carol} {
		users = append(users, &v1.User{ObjectMeta: metav1.ObjectMeta{Name: id.UserName}, Spec: v1.UserSpec{Username: id.Username, Enabled: true}})
	}
	c := b.WithObjects(prod, web, memberAdmin).WithObjects(users...).WithObjects(
		&v1.GlobalRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grb-alice"}, Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: roles.GlobalAdmin, Subject: v1.Subject{UserName: alice.UserName}}},
		members.NewCRTB(prod, "member-admin", v1.Subject{UserName: bob.UserName}),
		members.NewPRTB(web, roles.ProjectOwner, v1.Subject{UserName: bob.UserName}),
	).Build()
	lookup := func(ctx context.Context, name string) (*v1.User, bool) {
		var u v1.User
		for _, id := range []*authn.Identity{alice, bob, carol} {
			if id.Username == name && c.Get(ctx, client.ObjectKey{Name: id.UserName}, &u) == nil {
				return &u, true
			}
		}
		return nil, false
	}
	m, err := members.New(members.Config{Client: c, Cache: c, Authz: &authz.Authorizer{Cache: c}, LookupUser: lookup})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestAdd(t *testing.T) {
	for _, tt := range []struct {
		name    string
		caller  *authn.Identity
		req     herdapi.MemberRequest
		wantErr error
	}{
		{"an admin binds a cluster role", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner, Username: "carol"}, nil},
		{"a member admin binds what they hold", bob, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: "member-admin", Group: "local://g-ops"}, nil},
		{"a member admin binds more than they hold", bob, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner, Username: "carol"}, authz.ErrForbidden},
		{"a project owner binds in the project", bob, herdapi.MemberRequest{ProjectName: "web", RoleTemplate: roles.ProjectMember, Username: "carol"}, nil},
		{"a user without a role manages members", carol, herdapi.MemberRequest{ProjectName: "web", RoleTemplate: roles.ProjectMember, Username: "carol"}, members.ErrNoScope},
		{"a cluster that does not exist", alice, herdapi.MemberRequest{ClusterName: "edge", RoleTemplate: roles.ClusterOwner, Username: "carol"}, members.ErrNoScope},
		{"two scopes", alice, herdapi.MemberRequest{ClusterName: "prod", ProjectName: "web", RoleTemplate: roles.ClusterOwner, Username: "carol"}, members.ErrInvalid},
		{"no subject", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner}, members.ErrInvalid},
		{"an unknown user", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner, Username: "zed"}, members.ErrInvalid},
		{"a system group", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner, Group: "system:masters"}, members.ErrInvalid},
		{"an unknown role", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: "nope", Username: "carol"}, members.ErrInvalid},
		{"a project role in a cluster", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ProjectMember, Username: "carol"}, members.ErrInvalid},
		{"the same grant twice", alice, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: "member-admin", Username: "bob"}, members.ErrExists},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, c := newMembers(t)
			got, err := m.Add(context.Background(), tt.caller, tt.req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.RoleTemplate != tt.req.RoleTemplate || got.Username != tt.req.Username || got.Group != tt.req.Group || got.Ready != "Unknown" {
				t.Errorf("got %+v, want the member of the request, not yet ready", got)
			}
			var crtbs v1.ClusterRoleTemplateBindingList
			var prtbs v1.ProjectRoleTemplateBindingList
			_ = c.List(context.Background(), &crtbs)
			_ = c.List(context.Background(), &prtbs)
			if len(crtbs.Items)+len(prtbs.Items) != 3 {
				t.Errorf("%d bindings stored, want 3", len(crtbs.Items)+len(prtbs.Items))
			}
		})
	}
}

func TestListAndRemove(t *testing.T) {
	ctx := context.Background()
	m, _ := newMembers(t)
	list, err := m.List(ctx, bob, "prod", "")
	if err != nil || len(list) != 1 || list[0].Username != "bob" || list[0].RoleTemplate != "member-admin" {
		t.Fatalf("bob lists prod: got %+v, %v, want his member-admin binding", list, err)
	}
	if _, err := m.List(ctx, carol, "prod", ""); !errors.Is(err, members.ErrNoScope) {
		t.Errorf("carol lists prod: got %v, want ErrNoScope", err)
	}
	project, err := m.List(ctx, bob, "", "web")
	if err != nil || len(project) != 1 {
		t.Fatalf("bob lists web: got %+v, %v", project, err)
	}
	// bob's project role does not let him manage the cluster's members,
	// but his cluster role does.
	if _, err := m.Remove(ctx, carol, list[0].Name); !errors.Is(err, members.ErrNoScope) {
		t.Errorf("carol removes a member of prod: got %v, want ErrNoScope", err)
	}
	if _, err := m.Remove(ctx, bob, "crtb-nosuchmember"); !errors.Is(err, members.ErrNoMember) {
		t.Errorf("an unknown member: got %v, want ErrNoMember", err)
	}
	if _, err := m.Remove(ctx, bob, list[0].Name); err != nil {
		t.Errorf("bob removes his own cluster binding: %v", err)
	}
	if _, err := m.Remove(ctx, bob, list[0].Name); !errors.Is(err, members.ErrNoMember) {
		t.Errorf("removed twice: got %v, want ErrNoMember", err)
	}
}
