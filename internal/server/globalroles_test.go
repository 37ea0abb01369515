package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestGlobalRoles covers the built-in global roles, a role bound to a
// group, and the no-escalation rule for global roles.
func TestGlobalRoles(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	ctx := context.Background()
	c, err := client.New(s.ManagementConfig(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"admin", "restricted-admin", "user", "user-base"} {
		var gr v1.GlobalRole
		if err := c.Get(ctx, client.ObjectKey{Name: want}, &gr); err != nil || !gr.Spec.Builtin {
			t.Errorf("built-in global role %s: %v", want, err)
		}
	}
	// A user manager may create users, but only with roles she holds.
	manager := &v1.GlobalRole{ObjectMeta: metav1.ObjectMeta{Name: "user-manager"}, Spec: v1.GlobalRoleSpec{Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"users"}, Verbs: []string{"get", "list", "create"}},
		{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"roletemplates"}, Verbs: []string{"get", "list", "watch"}},
	}}}
	_ = c.Delete(ctx, manager)
	if err := c.Create(ctx, manager); err != nil {
		t.Fatal(err)
	}
	createUser(t, s, admin, "uma", "uma-password-1234")
	uma := s.Login(t, "uma", "uma-password-1234")
	code, body := s.Do(t, "GET", "/v1/users", uma, nil)
	herdtest.Expect(t, "uma lists users before she is a manager", code, body, http.StatusForbidden)
	// The role is bound to a group uma is in, as an identity provider reports it.
	grb := &v1.GlobalRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "managers"},
		Spec: v1.GlobalRoleBindingSpec{GlobalRoleName: "user-manager", Subject: v1.Subject{GroupPrincipalID: "openldap_group://managers"}}}
	_ = c.Delete(ctx, grb)
	if err := c.Create(ctx, grb); err != nil {
		t.Fatal(err)
	}
	var u v1.User
	if err := c.Get(ctx, client.ObjectKey{Name: authn.UserObjectName("uma")}, &u); err != nil {
		t.Fatal(err)
	}
	u.Status.GroupPrincipals = []string{"openldap_group://managers"}
	if err := c.Status().Update(ctx, &u); err != nil {
		t.Fatal(err)
	}
	herdtest.Eventually(t, "uma manages users through her group", 5*time.Second, func() error {
		if code, body := s.Do(t, "GET", "/v1/users", uma, nil); code != http.StatusOK {
			return &statusError{code, string(body)}
		}
		return nil
	})
	tests := []struct {
		name  string
		roles []string
		want  int
	}{
		{"user-base", []string{"user-base"}, http.StatusCreated},
		{"her own role", []string{"user-manager"}, http.StatusCreated},
		{"admin", []string{"admin"}, http.StatusForbidden},
		{"restricted-admin", []string{"restricted-admin"}, http.StatusForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := herdapi.UserCreateRequest{Username: "made-" + string(rune('a'+i)), Password: "made-password-1234", GlobalRoles: tt.roles}
			code, body := s.Do(t, "POST", "/v1/users", uma, req)
			herdtest.Expect(t, "uma creates a user with "+tt.name, code, body, tt.want)
			if tt.want == http.StatusForbidden && !strings.Contains(string(body), "do not hold") {
				t.Errorf("refusal says why: %s", body)
			}
		})
	}
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return http.StatusText(e.code) + ": " + e.body }

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}
