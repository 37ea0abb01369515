package server

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// bootstrap creates the built-in global roles and the first admin.
func (s *Server) bootstrap(ctx context.Context) error {
	var builtins []client.Object
	for _, r := range roles.GlobalRoles() {
		builtins = append(builtins, r)
	}
	for _, r := range roles.RoleTemplates() {
		builtins = append(builtins, r)
	}
	for _, obj := range builtins {
		//nolint:staticcheck // server-side apply of a typed object
		if err := s.client.Patch(ctx, obj, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("failed to create built-in %T %s: %w", obj, obj.GetName(), err)
		}
	}
	// Herd administrators reach the management cluster (cluster id
	// "local") through the proxy as this group, as on imported clusters.
	admins := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: "herd-global-admins", Labels: map[string]string{wellknown.ManagedByLabel: wellknown.ManagedBy}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: wellknown.AdminsGroup}},
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := s.client.Patch(ctx, admins, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to bind the Herd administrators in the management cluster: %w", err)
	}
	return s.dir.EnsureAdmin(ctx)
}
