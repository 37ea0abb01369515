package users_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/users"
	"herd.dev/herd/internal/wellknown"
)

const password = "correct horse battery"

// fixture is Users over a fake management cluster with Herd's global
// roles, a role user-manager (every verb on users, and what role user
// grants) and
// three local users with password: alice (admin), mia (user-manager) and
// carol (user).
type fixture struct {
	users             *users.Users
	dir               *identity.Directory
	c                 client.Client
	alice, mia, carol *authn.Identity
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.User{}, &v1.Token{})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	for _, r := range roles.GlobalRoles() {
		b = b.WithObjects(r)
	}
	manager := &v1.GlobalRole{ObjectMeta: metav1.ObjectMeta{Name: "user-manager"}, Spec: v1.GlobalRoleSpec{
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"users"}, Verbs: []string{"*"}},
			{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"roletemplates"}, Verbs: []string{"get", "list", "watch"}},
		}}}
	c := b.WithObjects(manager).Build()
	dir, err := identity.New(identity.Config{Client: c, Cache: c, API: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.New(users.Config{Client: c, Cache: c, API: c, Authz: &authz.Authorizer{Cache: c}, Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{users: u, dir: dir, c: c}
	ctx := context.Background()
	mk := func(name, role string) *authn.Identity {
		user, err := dir.CreateUser(ctx, name, "", []string{role})
		if err != nil {
			t.Fatal(err)
		}
		if err := authn.SetPassword(ctx, c, wellknown.Namespace, user, password); err != nil {
			t.Fatal(err)
		}
		return &authn.Identity{UserName: user.Name, Username: name, Principals: user.Spec.PrincipalIDs}
	}
	f.alice, f.mia, f.carol = mk("alice", roles.GlobalAdmin), mk("mia", "user-manager"), mk("carol", roles.GlobalUser)
	return f
}

func TestCreate(t *testing.T) {
	f := newFixture(t)
	ok := herdapi.UserCreateRequest{Username: "dave", Password: password, GlobalRoles: []string{roles.GlobalUser}}
	with := func(mod func(*herdapi.UserCreateRequest)) herdapi.UserCreateRequest {
		r := ok
		mod(&r)
		return r
	}
	for _, tt := range []struct {
		name   string
		caller *authn.Identity
		req    herdapi.UserCreateRequest
		want   error
	}{
		{"bad username", f.alice, with(func(r *herdapi.UserCreateRequest) { r.Username = "Dave Smith" }), users.ErrInvalid},
		{"short password", f.alice, with(func(r *herdapi.UserCreateRequest) { r.Password = "short" }), users.ErrInvalid},
		{"long display name", f.alice, with(func(r *herdapi.UserCreateRequest) { r.DisplayName = string(make([]byte, 300)) }), users.ErrInvalid},
		{"unknown role", f.alice, with(func(r *herdapi.UserCreateRequest) { r.GlobalRoles = []string{"wizard"} }), users.ErrInvalid},
		{"role the caller lacks", f.mia, with(func(r *herdapi.UserCreateRequest) { r.GlobalRoles = []string{roles.GlobalAdmin} }), authz.ErrForbidden},
		{"taken", f.alice, with(func(r *herdapi.UserCreateRequest) { r.Username = "carol" }), users.ErrExists},
		{"admin", f.alice, ok, nil},
		{"user-manager with their own role", f.mia, with(func(r *herdapi.UserCreateRequest) {
			r.Username, r.GlobalRoles = "erin", []string{"user-manager"}
		}), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			user, err := f.users.Create(ctx, tt.caller, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Create: %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if tt.req.Username != "carol" {
					if err := f.c.Get(ctx, client.ObjectKey{Name: authn.UserObjectName(tt.req.Username)}, &v1.User{}); !apierrors.IsNotFound(err) {
						t.Errorf("a refused create left user %s (%v)", tt.req.Username, err)
					}
				}
				return
			}
			if _, err := f.dir.PasswordLogin(ctx, authn.ProviderLocal, tt.req.Username, tt.req.Password); err != nil {
				t.Errorf("the new user cannot log in: %v", err)
			}
			var grbs v1.GlobalRoleBindingList
			if err := f.c.List(ctx, &grbs); err != nil {
				t.Fatal(err)
			}
			var bound []string
			for _, g := range grbs.Items {
				if g.Spec.Subject.UserName == user.Name {
					bound = append(bound, g.Spec.GlobalRoleName)
				}
			}
			if len(bound) != 1 || bound[0] != tt.req.GlobalRoles[0] {
				t.Errorf("bound global roles %v, want %v", bound, tt.req.GlobalRoles)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name         string
		caller       *authn.Identity
		target, verb string
		want         error
	}{
		{"anyone reads themselves", f.carol, "carol", "get", nil},
		{"anyone updates themselves", f.carol, "carol", "update", nil},
		{"a user may not read others", f.carol, "alice", "get", authz.ErrForbidden},
		{"not found is not told to who may not look", f.carol, "nobody", "get", authz.ErrForbidden},
		{"not found", f.alice, "nobody", "get", users.ErrNotFound},
		{"by object name", f.alice, f.carol.UserName, "get", nil},
		{"user-manager reads an admin", f.mia, "alice", "get", nil},
		{"user-manager may not manage an admin", f.mia, "alice", "update", authz.ErrForbidden},
		{"user-manager may not delete an admin", f.mia, "alice", "delete", authz.ErrForbidden},
		{"user-manager manages a user", f.mia, "carol", "update", nil},
		{"admin manages anyone", f.alice, "mia", "delete", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			user, err := f.users.Target(context.Background(), tt.caller, tt.target, tt.verb)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Target: %v, want %v", err, tt.want)
			}
			if err == nil && user.Name != authn.UserObjectName(user.Spec.Username) {
				t.Errorf("got user %s (%s)", user.Name, user.Spec.Username)
			}
		})
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	no, name := false, "Carol C."
	if _, err := f.users.Update(ctx, f.alice, "alice", herdapi.UserUpdateRequest{Enabled: &no}); !errors.Is(err, users.ErrSelf) {
		t.Errorf("disabling oneself: %v, want ErrSelf", err)
	}
	long := string(make([]byte, 300))
	if _, err := f.users.Update(ctx, f.alice, "carol", herdapi.UserUpdateRequest{DisplayName: &long}); !errors.Is(err, users.ErrInvalid) {
		t.Errorf("a long display name: %v, want ErrInvalid", err)
	}
	user, err := f.users.Update(ctx, f.mia, "carol", herdapi.UserUpdateRequest{Enabled: &no, DisplayName: &name})
	if err != nil {
		t.Fatal(err)
	}
	var stored v1.User
	if err := f.c.Get(ctx, client.ObjectKey{Name: user.Name}, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Enabled || stored.Spec.DisplayName != name {
		t.Errorf("stored user: enabled %v, display name %q", stored.Spec.Enabled, stored.Spec.DisplayName)
	}

	if _, err := f.users.Delete(ctx, f.alice, "alice"); !errors.Is(err, users.ErrSelf) {
		t.Errorf("deleting oneself: %v, want ErrSelf", err)
	}
	if _, err := f.users.Delete(ctx, f.carol, "mia"); !errors.Is(err, authz.ErrForbidden) {
		t.Errorf("a user deleting another: %v, want ErrForbidden", err)
	}
	if _, err := f.users.Delete(ctx, f.alice, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Get(ctx, client.ObjectKey{Name: user.Name}, &stored); !apierrors.IsNotFound(err) {
		t.Errorf("carol after delete: %v", err)
	}
	if _, err := f.users.Delete(ctx, f.alice, "carol"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("deleting again: %v, want ErrNotFound", err)
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	const fresh = "a new and long password"
	for _, tt := range []struct {
		name   string
		caller *authn.Identity
		target string
		req    herdapi.PasswordRequest
		want   error
	}{
		{"own, wrong current", f.carol, "carol", herdapi.PasswordRequest{Password: fresh, CurrentPassword: "guess guess guess"}, users.ErrWrongPassword},
		{"own, no current", f.carol, "carol", herdapi.PasswordRequest{Password: fresh}, users.ErrWrongPassword},
		{"weak", f.alice, "carol", herdapi.PasswordRequest{Password: "short"}, users.ErrInvalid},
		{"another's, without the right", f.carol, "mia", herdapi.PasswordRequest{Password: fresh}, authz.ErrForbidden},
		{"an admin's, by a user-manager", f.mia, "alice", herdapi.PasswordRequest{Password: fresh}, authz.ErrForbidden},
		{"own, right current", f.carol, "carol", herdapi.PasswordRequest{Password: fresh, CurrentPassword: password}, nil},
		{"another's, by a user-manager", f.mia, "carol", herdapi.PasswordRequest{Password: fresh + "!"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var before storedPassword
			before.read(t, f.c, authn.UserObjectName(tt.target))
			_, err := f.users.SetPassword(ctx, tt.caller, tt.target, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetPassword: %v, want %v", err, tt.want)
			}
			var after storedPassword
			after.read(t, f.c, authn.UserObjectName(tt.target))
			if changed := before.hash != after.hash; changed != (tt.want == nil) {
				t.Fatalf("password changed %v, want %v", changed, tt.want == nil)
			}
			if tt.want != nil {
				return
			}
			if _, err := f.dir.PasswordLogin(ctx, authn.ProviderLocal, tt.target, tt.req.Password); err != nil {
				t.Errorf("login with the new password: %v", err)
			}
		})
	}
}

func TestSetPasswordOfExternalUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ext := &v1.User{ObjectMeta: metav1.ObjectMeta{Name: "u-ldap1"}, Spec: v1.UserSpec{Username: "", Enabled: true,
		PrincipalIDs: []string{"openldap_user://uid=frank,dc=example,dc=org"}}}
	if err := f.c.Create(ctx, ext); err != nil {
		t.Fatal(err)
	}
	_, err := f.users.SetPassword(ctx, f.alice, ext.Name, herdapi.PasswordRequest{Password: password})
	if !errors.Is(err, users.ErrInvalid) {
		t.Errorf("setting an external user's password: %v, want ErrInvalid", err)
	}
}

// storedPassword is the stored password of a user.
type storedPassword struct{ hash string }

func (s *storedPassword) read(t *testing.T, c client.Client, user string) {
	t.Helper()
	var sec corev1.Secret
	err := c.Get(context.Background(), client.ObjectKey{Namespace: wellknown.Namespace, Name: authn.PasswordSecretName(user)}, &sec)
	if client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	for _, v := range sec.Data {
		s.hash += string(v)
	}
}
