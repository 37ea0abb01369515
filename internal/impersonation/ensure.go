package impersonation

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ensure creates or updates the user's service account, ClusterRole and
// ClusterRoleBinding downstream.
func (a *Accounts) ensure(ctx context.Context, user string, rules []rbacv1.PolicyRule) error {
	name := accountName(user)
	meta := metav1.ObjectMeta{Name: name, Labels: managedBy}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: managedBy},
		AutomountServiceAccountToken: ptr(false)}
	if _, err := a.Client.CoreV1().ServiceAccounts(Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create service account %s: %w", name, err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: meta, Rules: rules}
	roles := a.Client.RbacV1().ClusterRoles()
	if _, err := roles.Create(ctx, role, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		existing, err := roles.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		existing.Rules = rules
		if _, err := roles.Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("failed to update cluster role %s: %w", name, err)
		}
	} else if err != nil {
		return fmt.Errorf("failed to create cluster role %s: %w", name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Namespace, Name: name}},
	}
	if _, err := a.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create cluster role binding %s: %w", name, err)
	}
	return nil
}
