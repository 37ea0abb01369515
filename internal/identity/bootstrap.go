package identity

import (
	"context"
	"fmt"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// BootstrapUsername is the first admin's username.
const BootstrapUsername = "admin"

// bootstrapPasswordFile, under DataDir, holds a generated bootstrap password.
const bootstrapPasswordFile = "bootstrap-password"

// EnsureAdmin creates user "admin" with the admin role once. The
// replica whose create succeeds sets the password; the User's name is
// derived from the username, so two replicas cannot both create it.
func (d *Directory) EnsureAdmin(ctx context.Context) error {
	name := authn.UserObjectName(BootstrapUsername)
	var user v1.User
	err := d.api.Get(ctx, client.ObjectKey{Name: name}, &user)
	switch {
	case err == nil:
		return d.ensureAdminPassword(ctx, &user)
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to read the bootstrap admin: %w", err)
	}
	u, err := d.CreateUser(ctx, BootstrapUsername, "Default Admin", []string{roles.GlobalAdmin})
	if apierrors.IsAlreadyExists(err) {
		return nil // another replica made it
	}
	if err != nil {
		return fmt.Errorf("failed to create the bootstrap admin: %w", err)
	}
	return d.ensureAdminPassword(ctx, u)
}

// ensureAdminPassword sets the admin's password if it has none yet.
func (d *Directory) ensureAdminPassword(ctx context.Context, user *v1.User) error {
	var existing metav1.PartialObjectMetadata
	existing.SetGroupVersionKind(secretGVK)
	err := d.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: user.Spec.PasswordSecretRef}, &existing)
	if err == nil {
		if d.cfg.BootstrapPassword != "" {
			d.log.Info("the bootstrap admin exists; HERD_BOOTSTRAP_PASSWORD is ignored")
		}
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	password, generated := d.cfg.BootstrapPassword, false
	if password == "" {
		password, generated = herdtoken.NewSecret(), true
	}
	if err := authn.SetPassword(ctx, d.client, wellknown.Namespace, user, password); err != nil {
		return err
	}
	if !generated {
		d.log.Info("bootstrap admin created with the password from HERD_BOOTSTRAP_PASSWORD", "username", BootstrapUsername)
		return nil
	}
	path := filepath.Join(d.cfg.DataDir, bootstrapPasswordFile)
	if err := certs.WriteFileAtomic(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("failed to write the bootstrap password: %w", err)
	}
	fmt.Fprintf(d.cfg.BootstrapOut, "Herd bootstrap admin: username %q, password %s (also in %s; change it with `herdctl users set-password admin`)\n",
		BootstrapUsername, password, path)
	d.log.Info("bootstrap admin created with a generated password", "username", BootstrapUsername, "passwordFile", path)
	return nil
}
