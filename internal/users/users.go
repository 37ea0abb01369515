// Package users manages Herd's users on behalf of a caller: create with
// global roles, get, update, delete, set a password, read the groups
// again. Acting on another user takes the right to and, except to read
// them, every global right that user holds, as binding a role does (no
// escalation); acting on oneself takes the current password. The
// operations return sentinel errors.
package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// Errors of the operations (and authz.ErrForbidden). What follows the
// package prefix in an error's message is safe to show to the caller.
var (
	// ErrInvalid: a bad username, password, display name or role.
	ErrInvalid = errors.New("users: invalid request")
	// ErrNotFound: no such user.
	ErrNotFound = errors.New("users: no such user")
	// ErrExists: the username is taken.
	ErrExists = errors.New("users: username taken")
	// ErrSelf: what a user may not do to themselves (disable, delete).
	ErrSelf = errors.New("users: not to oneself")
	// ErrWrongPassword: the current password given to change one's own
	// is wrong.
	ErrWrongPassword = errors.New("users: wrong current password")
)

// maxDisplayName bounds a display name, in bytes.
const maxDisplayName = 253

// Config configures Users. All fields but Logger are required.
type Config struct {
	// Client writes; Cache reads the informer cache; API reads uncached.
	Client client.Client
	Cache  client.Reader
	API    client.Reader
	Authz  *authz.Authorizer
	// Directory makes users and checks passwords.
	Directory *identity.Directory
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// Users manages users.
type Users struct {
	cfg Config
}

// New checks cfg and returns Users.
func New(cfg Config) (*Users, error) {
	if cfg.Client == nil || cfg.Cache == nil || cfg.API == nil || cfg.Authz == nil || cfg.Directory == nil {
		return nil, errors.New("users: Client, Cache, API, Authz and Directory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Users{cfg: cfg}, nil
}

// Create makes a local user with a password and global roles that the
// caller holds themselves.
func (u *Users) Create(ctx context.Context, caller *authn.Identity, req herdapi.UserCreateRequest) (*v1.User, error) {
	if err := u.checkNew(ctx, &req); err != nil {
		return nil, err
	}
	if role, missing := u.cfg.Authz.GlobalEscalation(ctx, caller, req.GlobalRoles); len(missing) > 0 {
		return nil, fmt.Errorf("%w: global role %s grants permissions you do not hold (%s)", authz.ErrForbidden, role, roles.Describe(missing, 3))
	}
	user, err := u.cfg.Directory.CreateUser(ctx, req.Username, req.DisplayName, req.GlobalRoles)
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("%w: username %s is taken", ErrExists, req.Username)
	}
	if err == nil {
		err = authn.SetPassword(ctx, u.cfg.Client, wellknown.Namespace, user, req.Password)
	}
	if err != nil {
		if user != nil { // do not leave a user without its password or roles
			_ = u.cfg.Client.Delete(context.WithoutCancel(ctx), user)
		}
		return nil, err
	}
	store.Await(ctx, u.cfg.Cache, user, false, u.cfg.Logger)
	return user, nil
}

// checkNew returns what is wrong with req.
func (u *Users) checkNew(ctx context.Context, req *herdapi.UserCreateRequest) error {
	if err := authn.CheckNewUsername(req.Username); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "authn: "))
	}
	if err := authn.CheckPassword(req.Password); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "authn: "))
	}
	if len(req.DisplayName) > maxDisplayName {
		return fmt.Errorf("%w: displayName is longer than %d bytes", ErrInvalid, maxDisplayName)
	}
	for _, role := range req.GlobalRoles {
		if u.cfg.Cache.Get(ctx, client.ObjectKey{Name: role}, &v1.GlobalRole{}) != nil {
			return fmt.Errorf("%w: global role %s does not exist", ErrInvalid, role)
		}
	}
	return nil
}

// Target finds the user name (a local username, or a User id) for caller
// to act on with verb ("get", "update", "delete").
func (u *Users) Target(ctx context.Context, caller *authn.Identity, name, verb string) (*v1.User, error) {
	user, found := u.cfg.Directory.LookupUser(ctx, name)
	// Self is the same User object, not the same login name: an LDAP user
	// called admin is not the local admin.
	self := found && user.Name == caller.UserName
	if !self && !u.cfg.Authz.Allowed(ctx, caller, verb, "users") {
		return nil, fmt.Errorf("%w: you may not %s other users", authz.ErrForbidden, verb)
	}
	if !found {
		return nil, fmt.Errorf("%w: user %s not found", ErrNotFound, name)
	}
	if !self && verb != "get" {
		// Managing a user (their password, tokens, state) is acting as
		// them: it takes every global right they hold, as binding does.
		target := &authn.Identity{UserName: user.Name, Username: user.Spec.Username, Principals: user.Spec.PrincipalIDs, Groups: user.Status.GroupPrincipals}
		if missing := u.cfg.Authz.ToManage(ctx, caller, target); len(missing) > 0 {
			return nil, fmt.Errorf("%w: user %s holds global permissions you do not hold (%s)", authz.ErrForbidden, name, roles.Describe(missing, 3))
		}
	}
	return user, nil
}

// Update enables or disables a user and sets their display name.
func (u *Users) Update(ctx context.Context, caller *authn.Identity, name string, req herdapi.UserUpdateRequest) (*v1.User, error) {
	user, err := u.Target(ctx, caller, name, "update")
	if err != nil {
		return nil, err
	}
	switch {
	case req.Enabled != nil && !*req.Enabled && user.Name == caller.UserName:
		return nil, fmt.Errorf("%w: you cannot disable yourself; ask another administrator", ErrSelf)
	case req.DisplayName != nil && len(*req.DisplayName) > maxDisplayName:
		return nil, fmt.Errorf("%w: displayName is longer than %d bytes", ErrInvalid, maxDisplayName)
	}
	return u.update(ctx, user.Name, func(x *v1.User) {
		if req.Enabled != nil {
			x.Spec.Enabled = *req.Enabled
		}
		if req.DisplayName != nil {
			x.Spec.DisplayName = *req.DisplayName
		}
	})
}

// update applies change to the current User, retrying on conflicts, and
// waits for the cache to see it.
func (u *Users) update(ctx context.Context, name string, change func(*v1.User)) (*v1.User, error) {
	var user v1.User
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := u.cfg.API.Get(ctx, client.ObjectKey{Name: name}, &user); err != nil {
			return err
		}
		change(&user)
		return u.cfg.Client.Update(ctx, &user)
	})
	if err != nil {
		return nil, err
	}
	store.Await(ctx, u.cfg.Cache, &user, false, u.cfg.Logger)
	return &user, nil
}

// Delete deletes a user other than the caller. Their tokens, password
// Secret and bindings are owned by the User and go with it; the
// authenticator refuses a deleted user's tokens at once.
func (u *Users) Delete(ctx context.Context, caller *authn.Identity, name string) (*v1.User, error) {
	user, err := u.Target(ctx, caller, name, "delete")
	if err != nil {
		return nil, err
	}
	if user.Name == caller.UserName {
		return nil, fmt.Errorf("%w: you cannot delete yourself; ask another administrator", ErrSelf)
	}
	if err := u.cfg.Client.Delete(ctx, user, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	store.Await(ctx, u.cfg.Cache, user, true, u.cfg.Logger)
	return user, nil
}

// SetPassword sets a local user's password; the caller's own takes the
// current one.
func (u *Users) SetPassword(ctx context.Context, caller *authn.Identity, name string, req herdapi.PasswordRequest) (*v1.User, error) {
	user, err := u.Target(ctx, caller, name, "update")
	if err != nil {
		return nil, err
	}
	if user.Spec.PasswordSecretRef == "" {
		return nil, fmt.Errorf("%w: user %s logs in through an identity provider and has no Herd password", ErrInvalid, user.Name)
	}
	if err := authn.CheckPassword(req.Password); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "authn: "))
	}
	if user.Name == caller.UserName {
		if _, err := u.cfg.Directory.PasswordLogin(ctx, authn.ProviderLocal, user.Spec.Username, req.CurrentPassword); err != nil {
			if errors.Is(err, authn.ErrBadCredentials) {
				return nil, fmt.Errorf("%w: currentPassword is wrong", ErrWrongPassword)
			}
			return nil, err
		}
	}
	if err := authn.SetPassword(ctx, u.cfg.Client, wellknown.Namespace, user, req.Password); err != nil {
		return nil, err
	}
	return user, nil
}

// Refresh reads a user's groups again from their identity provider and
// returns the user as the cache then has them.
func (u *Users) Refresh(ctx context.Context, caller *authn.Identity, name string) (*v1.User, error) {
	user, err := u.Target(ctx, caller, name, "update")
	if err != nil {
		return nil, err
	}
	if err := u.cfg.Directory.RefreshUser(ctx, user); err != nil {
		return nil, err
	}
	var fresh v1.User
	if err := u.cfg.Cache.Get(ctx, client.ObjectKey{Name: user.Name}, &fresh); err != nil {
		return nil, err
	}
	return &fresh, nil
}
