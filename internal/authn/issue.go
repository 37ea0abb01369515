package authn

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtoken"
)

// Default token lifetimes.
const (
	DefaultSessionTTL    = 16 * time.Hour
	DefaultKubeconfigTTL = 30 * 24 * time.Hour
)

// UserLabel on a Token names its User, for listing a user's tokens.
const UserLabel = "management.herd.dev/user"

// ErrInvalidRequest prefixes bad token requests.
var ErrInvalidRequest = errors.New("authn: invalid token request")

// TTLs are the token lifetimes; zero fields take the defaults, and Max
// (zero: no maximum beyond the defaults) caps every token.
type TTLs struct {
	Session, Kubeconfig, Max time.Duration
}

// For returns the lifetime of a token of kind; requested (0: the default)
// may only shorten it.
func (t TTLs) For(kind string, requested time.Duration) (time.Duration, error) {
	var ttl time.Duration
	switch kind {
	case v1.TokenKindSession, v1.TokenKindBrowser, "":
		ttl = or(t.Session, DefaultSessionTTL)
	case v1.TokenKindKubeconfig:
		ttl = or(t.Kubeconfig, DefaultKubeconfigTTL)
	default:
		return 0, fmt.Errorf("%w: kind %q: use %q or %q", ErrInvalidRequest, kind, v1.TokenKindSession, v1.TokenKindKubeconfig)
	}
	if t.Max > 0 && ttl > t.Max {
		ttl = t.Max
	}
	if requested < 0 {
		return 0, fmt.Errorf("%w: a negative lifetime", ErrInvalidRequest)
	}
	if requested > 0 && requested < ttl {
		ttl = requested
	}
	return ttl, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// TokenRequest describes a token to issue.
type TokenRequest struct {
	Kind        string
	TTL         time.Duration
	Description string
	// ClusterName and ClusterUID scope the token to one cluster.
	ClusterName string
	ClusterUID  string
}

// Issue creates a Token for user and returns the token string, which
// exists nowhere else: only its salted hash is stored.
func Issue(ctx context.Context, c client.Client, ttls TTLs, now time.Time, user *v1.User, req TokenRequest) (string, *v1.Token, error) {
	ttl, err := ttls.For(req.Kind, req.TTL)
	if err != nil {
		return "", nil, err
	}
	if len(req.Description) > 1024 {
		return "", nil, fmt.Errorf("%w: description longer than 1024 bytes", ErrInvalidRequest)
	}
	kind := req.Kind
	if kind == "" {
		kind = v1.TokenKindSession
	}
	secret := herdtoken.NewSecret()
	tok := &v1.Token{
		ObjectMeta: metav1.ObjectMeta{
			Name:            herdtoken.NewName("t-"),
			Labels:          map[string]string{UserLabel: user.Name},
			OwnerReferences: []metav1.OwnerReference{userOwner(user)},
		},
		Spec: v1.TokenSpec{
			UserName:    user.Name,
			Kind:        kind,
			Hash:        herdtoken.Hash(secret),
			ExpiresAt:   metav1.NewTime(now.Add(ttl).Truncate(time.Second)),
			ClusterName: req.ClusterName,
			ClusterUID:  req.ClusterUID,
			Description: req.Description,
			Enabled:     true,
		},
	}
	if err := c.Create(ctx, tok); err != nil {
		return "", nil, fmt.Errorf("failed to create token for user %s: %w", user.Name, err)
	}
	return herdtoken.Format(tok.Name, secret), tok, nil
}

// userOwner makes objects go with their User.
func userOwner(u *v1.User) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: v1.GroupVersion.String(),
		Kind:       "User",
		Name:       u.Name,
		UID:        u.UID,
	}
}
