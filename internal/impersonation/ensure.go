package impersonation

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/wellknown"
)

// ensure creates or updates the user's service account, ClusterRole and
// ClusterRoleBinding downstream.
func (a *Accounts) ensure(ctx context.Context, user string, rules []rbacv1.PolicyRule) error {
	return a.ensureAccount(ctx, accountName(user), managedBy, rules)
}

// ensureAccount creates or updates a service account in wellknown.Namespace and a
// ClusterRole of its name with rules, bound to it.
func (a *Accounts) ensureAccount(ctx context.Context, name string, labels map[string]string, rules []rbacv1.PolicyRule) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: wellknown.Namespace, Labels: maps.Clone(labels)},
		AutomountServiceAccountToken: ptr(false)}
	if _, err := a.Client.CoreV1().ServiceAccounts(wellknown.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create service account %s: %w", name, err)
	}
	if err := a.applyClusterRole(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)}, Rules: rules}); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: wellknown.Namespace, Name: name}},
	}
	if _, err := a.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create cluster role binding %s: %w", name, err)
	}
	return nil
}

// applyClusterRole creates role, or sets the rules of the existing one.
func (a *Accounts) applyClusterRole(ctx context.Context, role *rbacv1.ClusterRole) error {
	roles := a.Client.RbacV1().ClusterRoles()
	_, err := roles.Create(ctx, role, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("failed to create cluster role %s: %w", role.Name, err)
		}
		return nil
	}
	existing, err := roles.Get(ctx, role.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	existing.Rules = role.Rules
	if _, err := roles.Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to update cluster role %s: %w", role.Name, err)
	}
	return nil
}
