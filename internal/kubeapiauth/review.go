package kubeapiauth

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"

	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/tokencopy"
)

// Keys of the user's extra, as the Herd auth proxy sets them.
const (
	ExtraUsername       = "username"
	ExtraRequestTokenID = "requesttokenid"
)

// Review answers a TokenReview. A refused token is a TokenReview with
// authenticated false; an error (ErrBadReview, ErrNotSynced) means no
// answer at all, never a grant. The response carries only the status: the
// token is not echoed back.
func (s *Server) Review(ctx context.Context, in *authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
	if in.APIVersion != authenticationv1.SchemeGroupVersion.String() || in.Kind != "TokenReview" {
		return nil, ErrBadReview
	}
	if !s.synced() {
		return nil, ErrNotSynced
	}
	out := &authenticationv1.TokenReview{TypeMeta: in.TypeMeta}
	c := s.authenticate(in.Spec.Token)
	if c == nil {
		return out, nil
	}
	out.Status = authenticationv1.TokenReviewStatus{
		Authenticated: true,
		User: authenticationv1.UserInfo{
			Username: c.UserName,
			UID:      c.UserName,
			// A copy never makes anyone a member of a Kubernetes system
			// group, whatever it says (the proxy sends none either).
			Groups: slices.DeleteFunc(slices.Clone(c.Groups), func(g string) bool { return strings.HasPrefix(g, "system:") }),
			Extra: map[string]authenticationv1.ExtraValue{
				ExtraUsername:       {c.Username},
				ExtraRequestTokenID: {c.TokenName},
			},
		},
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "token review", slog.String("token", c.TokenName),
		slog.String("user", c.UserName), slog.Bool("authenticated", true))
	return out, nil
}

// authenticate returns the copy that grants token, or nil. It logs why it
// refuses; the token's secret never reaches the log.
func (s *Server) authenticate(token string) *tokencopy.Copy {
	name, secret, err := herdtoken.Parse(token)
	if err != nil {
		// Not a Herd token: the apiserver also asks about tokens its other
		// authenticators refused (stale service account tokens, say), so
		// this is routine and stays at debug.
		s.log.Debug("token review", "authenticated", false, "refusal", "not a Herd token", "length", len(token))
		return nil
	}
	c := s.index.get(name)
	refusal := ""
	switch {
	case c == nil:
		refusal = "unknown token"
	case !herdtoken.Verify(c.Hash, secret):
		refusal = "wrong secret"
	case !c.Enabled:
		refusal = "token or user disabled"
	case !s.cfg.Now().Before(c.ExpiresAt):
		refusal = "expired"
	case c.Cluster != s.cfg.Cluster || (s.cfg.ClusterUID != "" && c.ClusterUID != s.cfg.ClusterUID):
		refusal = "scoped to another cluster"
	default:
		return c
	}
	attrs := []any{"token", name, "authenticated", false, "refusal", refusal}
	if c != nil {
		attrs = append(attrs, "user", c.UserName)
	}
	s.log.Info("token review", attrs...)
	return nil
}
