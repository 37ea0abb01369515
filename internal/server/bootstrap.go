package server

import (
	"context"
	"fmt"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// bootstrapUsername is the first admin's username.
const bootstrapUsername = "admin"

// bootstrapPasswordFile, under DataDir, holds a generated bootstrap password.
const bootstrapPasswordFile = "bootstrap-password"

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
	return s.bootstrapAdmin(ctx)
}

// bootstrapAdmin creates user "admin" with the admin role once. The
// replica whose create succeeds sets the password; the User's name is
// derived from the username, so two replicas cannot both create it.
func (s *Server) bootstrapAdmin(ctx context.Context) error {
	name := authn.UserObjectName(bootstrapUsername)
	var user v1.User
	err := s.api.Get(ctx, client.ObjectKey{Name: name}, &user)
	switch {
	case err == nil:
		return s.ensureAdminPassword(ctx, &user)
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to read the bootstrap admin: %w", err)
	}
	u, err := s.createUser(ctx, bootstrapUsername, "Default Admin", []string{roles.GlobalAdmin})
	if apierrors.IsAlreadyExists(err) {
		return nil // another replica made it
	}
	if err != nil {
		return fmt.Errorf("failed to create the bootstrap admin: %w", err)
	}
	return s.ensureAdminPassword(ctx, u)
}

// ensureAdminPassword sets the admin's password if it has none yet.
func (s *Server) ensureAdminPassword(ctx context.Context, user *v1.User) error {
	var existing metav1.PartialObjectMetadata
	existing.SetGroupVersionKind(secretGVK)
	err := s.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: user.Spec.PasswordSecretRef}, &existing)
	if err == nil {
		if s.cfg.BootstrapPassword != "" {
			s.cfg.Logger.Info("the bootstrap admin exists; HERD_BOOTSTRAP_PASSWORD is ignored")
		}
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	password, generated := s.cfg.BootstrapPassword, false
	if password == "" {
		password, generated = herdtoken.NewSecret(), true
	}
	if err := authn.SetPassword(ctx, s.client, wellknown.Namespace, user, password); err != nil {
		return err
	}
	if !generated {
		s.cfg.Logger.Info("bootstrap admin created with the password from HERD_BOOTSTRAP_PASSWORD", "username", bootstrapUsername)
		return nil
	}
	path := filepath.Join(s.cfg.DataDir, bootstrapPasswordFile)
	if err := certs.WriteFileAtomic(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("failed to write the bootstrap password: %w", err)
	}
	fmt.Fprintf(s.cfg.BootstrapOut, "Herd bootstrap admin: username %q, password %s (also in %s; change it with `herdctl users set-password admin`)\n",
		bootstrapUsername, password, path)
	s.cfg.Logger.Info("bootstrap admin created with a generated password", "username", bootstrapUsername, "passwordFile", path)
	return nil
}
