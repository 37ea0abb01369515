package authn

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// ErrBadCredentials is the one answer to a wrong password, an unknown user
// and a disabled user; the wrapped text (for the log) says which.
var ErrBadCredentials = errors.New("authn: invalid username or password")

// passwordKey is the key of the hash in a password Secret.
const passwordKey = "hash"

// Local checks local users' passwords.
type Local struct {
	// Users reads Users (an informer cache is fine).
	Users client.Reader
	// Secrets reads password Secrets; use an uncached reader so Secrets
	// are not held in memory.
	Secrets client.Reader
	// Namespace holds the password Secrets.
	Namespace string
}

// Login returns the user whose username and password these are.
func (l *Local) Login(ctx context.Context, username, password string) (*v1.User, error) {
	if CheckUsername(username) != nil || len(password) > MaxPasswordBytes {
		VerifyPassword(dummyHash, password)
		return nil, fmt.Errorf("%w: malformed username or password", ErrBadCredentials)
	}
	var user v1.User
	if err := l.Users.Get(ctx, client.ObjectKey{Name: UserObjectName(username)}, &user); err != nil {
		if apierrors.IsNotFound(err) {
			VerifyPassword(dummyHash, password)
			return nil, fmt.Errorf("%w: no user %q", ErrBadCredentials, username)
		}
		return nil, err
	}
	hash, err := l.passwordHash(ctx, &user)
	if err != nil {
		return nil, err
	}
	if !VerifyPassword(hash, password) {
		return nil, fmt.Errorf("%w: wrong password for %q", ErrBadCredentials, username)
	}
	if !user.Spec.Enabled {
		return nil, fmt.Errorf("%w: user %q is disabled", ErrBadCredentials, username)
	}
	return &user, nil
}

func (l *Local) passwordHash(ctx context.Context, user *v1.User) (string, error) {
	if user.Spec.PasswordSecretRef == "" {
		return dummyHash, nil // no password: nothing matches but the timing stays the same
	}
	var s corev1.Secret
	err := l.Secrets.Get(ctx, client.ObjectKey{Namespace: l.Namespace, Name: user.Spec.PasswordSecretRef}, &s)
	if apierrors.IsNotFound(err) {
		return dummyHash, nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the password of user %s: %w", user.Name, err)
	}
	return string(s.Data[passwordKey]), nil
}

// PasswordSecretName is the name of a user's password Secret.
func PasswordSecretName(userObjectName string) string { return "password-" + userObjectName }

// SetPassword hashes password into user's password Secret in namespace,
// creating or replacing it. The caller has checked the password policy.
func SetPassword(ctx context.Context, c client.Client, namespace string, user *v1.User, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            PasswordSecretName(user.Name),
			Namespace:       namespace,
			Labels:          map[string]string{UserLabel: user.Name},
			OwnerReferences: []metav1.OwnerReference{userOwner(user)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{passwordKey: []byte(hash)},
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := c.Patch(ctx, s, client.Apply, client.FieldOwner("herd-server"), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to store the password of user %s: %w", user.Name, err)
	}
	return nil
}
