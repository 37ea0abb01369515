package rbac

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/wellknown"
)

func template(name, context string, inherits ...string) v1.RoleTemplate {
	return v1.RoleTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.RoleTemplateSpec{Context: context,
		RoleTemplateNames: inherits,
		Rules:             []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{name}}}}}
}

func TestRender(t *testing.T) {
	in := Input{
		Templates: []v1.RoleTemplate{template("viewer", v1.ContextProject), template("owner", v1.ContextCluster),
			template("loop", v1.ContextProject, "loop"), template("child", v1.ContextProject, "viewer")},
		CRTBs: []v1.ClusterRoleTemplateBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "ok"}, Spec: v1.ClusterRoleTemplateBindingSpec{RoleTemplateName: "owner", Subject: v1.Subject{UserName: "u-a"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "wrong-context"}, Spec: v1.ClusterRoleTemplateBindingSpec{RoleTemplateName: "viewer", Subject: v1.Subject{UserName: "u-a"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "missing"}, Spec: v1.ClusterRoleTemplateBindingSpec{RoleTemplateName: "gone", Subject: v1.Subject{UserName: "u-a"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "no-subject"}, Spec: v1.ClusterRoleTemplateBindingSpec{RoleTemplateName: "owner"}},
		},
		Projects: []v1.Project{{ObjectMeta: metav1.ObjectMeta{Name: "p1"}}},
		PRTBs: []v1.ProjectRoleTemplateBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "grp"}, Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: "p1", RoleTemplateName: "child", Subject: v1.Subject{GroupPrincipalID: "g://devs"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "cycle"}, Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: "p1", RoleTemplateName: "loop", Subject: v1.Subject{UserName: "u-b"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "no-project"}, Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: "p2", RoleTemplateName: "viewer", Subject: v1.Subject{UserName: "u-b"}}},
		},
		Namespaces: map[string][]string{"p1": {"a", "b"}, "p2": {"c"}},
	}
	d := Render(in)

	t.Run("cluster roles", func(t *testing.T) {
		if got := len(d.ClusterRoles); got != 3 {
			t.Errorf("cluster roles: got %d, want 3 (loop is skipped)", got)
		}
		if got := len(d.ClusterRoles["herd-rt-child"].Rules); got != 2 {
			t.Errorf("child rules: got %d, want its own and viewer's", got)
		}
		for name, r := range d.ClusterRoles {
			if r.Labels[SourceLabel] != "roletemplate" || r.Labels[wellknown.ManagedByLabel] != wellknown.ManagedBy {
				t.Errorf("%s labels: %v", name, r.Labels)
			}
		}
	})
	t.Run("bindings", func(t *testing.T) {
		crb, ok := d.ClusterRoleBindings["herd-crtb-ok"]
		if !ok || len(d.ClusterRoleBindings) != 1 {
			t.Fatalf("cluster role bindings: %v, want only herd-crtb-ok", d.ClusterRoleBindings)
		}
		if crb.RoleRef.Name != "herd-rt-owner" || crb.Subjects[0] != (rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "u-a"}) {
			t.Errorf("herd-crtb-ok: %+v %+v", crb.RoleRef, crb.Subjects)
		}
		if len(d.RoleBindings) != 2 {
			t.Fatalf("role bindings: got %v, want grp in a and b", d.RoleBindings)
		}
		rb := d.RoleBindings["b/herd-prtb-grp"]
		if rb == nil || rb.Subjects[0].Kind != "Group" || rb.Subjects[0].Name != "g://devs" || rb.RoleRef.Name != "herd-rt-child" {
			t.Errorf("b/herd-prtb-grp: %+v", rb)
		}
	})
	t.Run("problems", func(t *testing.T) {
		want := map[string]string{
			"roletemplate/loop":                        "cycle",
			"clusterroletemplatebinding/wrong-context": "not clusters",
			"clusterroletemplatebinding/missing":       "not found",
			"clusterroletemplatebinding/no-subject":    "exactly one",
			"projectroletemplatebinding/cycle":         "invalid",
			"projectroletemplatebinding/no-project":    "does not exist",
		}
		for key, substr := range want {
			if err := d.Problems[key]; err == nil || !strings.Contains(err.Error(), substr) {
				t.Errorf("%s: got %v, want an error with %q", key, err, substr)
			}
		}
		if len(d.Problems) != len(want) {
			t.Errorf("problems: got %v", d.Problems)
		}
	})
}
