package roles

import (
	"errors"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

func getter(templates ...*v1.RoleTemplate) Getter {
	byName := map[string]*v1.RoleTemplate{}
	for _, t := range templates {
		byName[t.Name] = t
	}
	return func(name string) (*v1.RoleTemplate, error) { return byName[name], nil }
}

func rt(name string, inherits []string, rules ...rbacv1.PolicyRule) *v1.RoleTemplate {
	return &v1.RoleTemplate{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.RoleTemplateSpec{Context: v1.ContextProject, RoleTemplateNames: inherits, Rules: rules}}
}

func rule(verb, resource string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: []string{verb}, APIGroups: []string{""}, Resources: []string{resource}}
}

func TestEffective(t *testing.T) {
	get := getter(
		rt("a", []string{"b", "c"}, rule("get", "pods")),
		rt("b", []string{"c"}, rule("list", "pods")),
		rt("c", nil, rule("get", "pods"), rule("get", "secrets")),
		rt("self", []string{"self"}),
		rt("x", []string{"y"}), rt("y", []string{"z"}), rt("z", []string{"x"}),
		rt("orphan", []string{"gone"}),
	)
	tests := []struct {
		name    string
		want    int
		wantErr error
	}{
		{"a", 3, nil}, // get pods once, list pods, get secrets
		{"c", 2, nil},
		{"self", 0, ErrCycle},
		{"x", 0, ErrCycle},
		{"orphan", 0, ErrNotFound},
		{"missing", 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Effective(get, tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Errorf("rules: got %d (%v), want %d", len(got), got, tt.want)
			}
		})
	}
}

func TestBuiltinTemplatesResolve(t *testing.T) {
	templates := RoleTemplates()
	get := getter(templates...)
	effective := map[string][]rbacv1.PolicyRule{}
	for _, tpl := range templates {
		rules, err := Effective(get, tpl.Name)
		if err != nil {
			t.Fatalf("%s: %v", tpl.Name, err)
		}
		effective[tpl.Name] = rules
	}
	tests := []struct {
		holder, wants string
		covered       bool
	}{
		{ProjectOwner, ProjectMember, true},
		{ProjectMember, ReadOnly, true},
		{ProjectMember, ProjectOwner, false},
		{ReadOnly, ManageSecrets, false},
		{ClusterOwner, ProjectOwner, true},
		{ClusterMember, ReadOnly, false},
	}
	for _, tt := range tests {
		t.Run(tt.holder+" grants "+tt.wants, func(t *testing.T) {
			missing := Missing(effective[tt.holder], effective[tt.wants])
			if got := len(missing) == 0; got != tt.covered {
				t.Errorf("covered: got %v, want %v (missing %s)", got, tt.covered, Describe(missing, 3))
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name    string
		subject v1.Subject
		want    bool
	}{
		{"same user", v1.Subject{UserName: "u-a"}, true},
		{"other user", v1.Subject{UserName: "u-b"}, false},
		{"member group", v1.Subject{GroupPrincipalID: "openldap_group://devs"}, true},
		{"other group", v1.Subject{GroupPrincipalID: "openldap_group://ops"}, false},
		{"empty", v1.Subject{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.subject, "u-a", []string{"openldap_group://devs"}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
