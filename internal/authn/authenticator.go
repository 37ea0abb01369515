package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtoken"
)

// ErrUnauthenticated is returned for every refused token; the wrapped text
// says why, for the log only.
var ErrUnauthenticated = errors.New("authn: unauthenticated")

// Identity is a verified caller.
type Identity struct {
	// UserName is the User object's name, the id used in bindings.
	UserName string
	// Username is the login name.
	Username string
	// Principals are the user's principal ids.
	Principals []string
	// Groups are the user's group principals.
	Groups []string
	// TokenName names the token the request came with.
	TokenName string
	// TokenKind is session or kubeconfig.
	TokenKind string
	// ClusterName and ClusterUID are set for cluster-scoped tokens.
	ClusterName string
	ClusterUID  string
}

// Authenticator verifies bearer tokens against Tokens and Users read from
// an informer cache.
type Authenticator struct {
	// Cache reads Tokens and Users; it must be an informer cache.
	Cache client.Reader
	// Usage records lastUsedAt; nil: not recorded.
	Usage *UsageRecorder
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Authenticate returns the identity behind token.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Identity, error) {
	name, secret, err := herdtoken.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	// Every proxied request comes here: the Token and User are read
	// without the cache's deep copy, and only read. The Identity gets
	// clipped slices, so an append to them makes a copy.
	var tok v1.Token
	if err := a.Cache.Get(ctx, client.ObjectKey{Name: name}, &tok, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: token %s does not exist", ErrUnauthenticated, name)
		}
		return nil, err
	}
	if !herdtoken.Verify(tok.Spec.Hash, secret) {
		return nil, fmt.Errorf("%w: token %s: wrong secret", ErrUnauthenticated, name)
	}
	switch browser := FromBrowserSession(ctx); {
	case browser && tok.Spec.Kind != v1.TokenKindBrowser:
		return nil, fmt.Errorf("%w: token %s of kind %s came as the web console's cookie", ErrUnauthenticated, name, tok.Spec.Kind)
	case !browser && tok.Spec.Kind == v1.TokenKindBrowser:
		return nil, fmt.Errorf("%w: web console session %s came as a bearer token", ErrUnauthenticated, name)
	}
	now := a.now()
	switch {
	case !tok.Spec.Enabled:
		return nil, fmt.Errorf("%w: token %s is revoked", ErrUnauthenticated, name)
	case !now.Before(tok.Spec.ExpiresAt.Time):
		return nil, fmt.Errorf("%w: token %s expired at %s", ErrUnauthenticated, name, tok.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	var user v1.User
	if err := a.Cache.Get(ctx, client.ObjectKey{Name: tok.Spec.UserName}, &user, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: token %s: user %s does not exist", ErrUnauthenticated, name, tok.Spec.UserName)
		}
		return nil, err
	}
	if !user.Spec.Enabled {
		return nil, fmt.Errorf("%w: token %s: user %s is disabled", ErrUnauthenticated, name, user.Name)
	}
	if a.Usage != nil {
		a.Usage.Touch(&tok)
	}
	return &Identity{
		UserName:    user.Name,
		Username:    user.Spec.Username,
		Principals:  slices.Clip(user.Spec.PrincipalIDs),
		Groups:      slices.Clip(user.Status.GroupPrincipals),
		TokenName:   tok.Name,
		TokenKind:   tok.Spec.Kind,
		ClusterName: tok.Spec.ClusterName,
		ClusterUID:  tok.Spec.ClusterUID,
	}, nil
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

type browserSessionKey struct{}

// WithBrowserSession marks ctx as a request whose token came as the web
// console's session cookie (from the same origin, with its CSRF token
// where needed): only then is a browser token accepted, and only a
// browser token.
func WithBrowserSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, browserSessionKey{}, true)
}

// FromBrowserSession reports whether ctx is marked by WithBrowserSession.
func FromBrowserSession(ctx context.Context) bool {
	v, _ := ctx.Value(browserSessionKey{}).(bool)
	return v
}
