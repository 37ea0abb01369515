package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/wellknown"
)

// defaultGracePeriod keeps older registration tokens valid after a rotation.
const defaultGracePeriod = time.Hour

// issueRegistrationToken creates a registration token for cluster and
// returns it; only its salted hash is stored.
func (s *Server) issueRegistrationToken(ctx context.Context, cluster *v1.Cluster) (string, *v1.ClusterRegistrationToken, error) {
	secret := herdtoken.NewSecret()
	expires := metav1.NewTime(s.now().Add(s.cfg.RegistrationTokenTTL).Truncate(time.Second))
	crt := &v1.ClusterRegistrationToken{
		ObjectMeta: metav1.ObjectMeta{
			Name:   herdtoken.NewName("crt-"),
			Labels: map[string]string{wellknown.ClusterLabel: cluster.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID,
			}},
		},
		Spec: v1.ClusterRegistrationTokenSpec{ClusterName: cluster.Name, TokenHash: herdtoken.Hash(secret), ExpiresAt: &expires},
	}
	if err := s.client.Create(ctx, crt); err != nil {
		return "", nil, fmt.Errorf("failed to create a registration token for cluster %s: %w", cluster.Name, err)
	}
	s.awaitCache(ctx, crt, false)
	return herdtoken.Format(crt.Name, secret), crt, nil
}

// rotateRegistrationToken issues a new token and ends the older ones of the
// cluster after grace (now, if grace is negative).
func (s *Server) rotateRegistrationToken(ctx context.Context, cluster *v1.Cluster, grace time.Duration) (string, *v1.ClusterRegistrationToken, error) {
	var old v1.ClusterRegistrationTokenList
	if err := s.cache.List(ctx, &old, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return "", nil, err
	}
	token, crt, err := s.issueRegistrationToken(ctx, cluster)
	if err != nil {
		return "", nil, err
	}
	end := metav1.NewTime(s.now().Add(max(grace, 0)).Truncate(time.Second))
	for i := range old.Items {
		o := &old.Items[i]
		if o.Spec.ExpiresAt != nil && !o.Spec.ExpiresAt.After(end.Time) {
			continue
		}
		patch := client.MergeFrom(o.DeepCopy())
		o.Spec.ExpiresAt = &end
		if o.Annotations == nil {
			o.Annotations = map[string]string{}
		}
		o.Annotations[supersededAnnotation] = crt.Name
		if err := s.client.Patch(ctx, o, patch); client.IgnoreNotFound(err) != nil {
			return "", nil, fmt.Errorf("failed to end registration token %s: %w", o.Name, err)
		}
		s.awaitCache(ctx, o, false)
	}
	// The agents that registered with an earlier import command keep
	// working for the grace period, then must register with the new one.
	if err := s.endAgentTokens(ctx, cluster, crt.Name, end); err != nil {
		return "", nil, err
	}
	return token, crt, nil
}

// verifyRegistrationToken returns the live registration token and cluster
// that token names, or an error for the log.
func (s *Server) verifyRegistrationToken(ctx context.Context, token string) (*v1.ClusterRegistrationToken, *v1.Cluster, error) {
	name, secret, err := herdtoken.Parse(token)
	if err != nil {
		return nil, nil, err
	}
	var crt v1.ClusterRegistrationToken
	if err := s.cache.Get(ctx, client.ObjectKey{Name: name}, &crt); err != nil {
		return nil, nil, fmt.Errorf("registration token %s: %w", name, err)
	}
	if !herdtoken.Verify(crt.Spec.TokenHash, secret) {
		return nil, nil, fmt.Errorf("registration token %s: wrong secret", name)
	}
	if crt.Spec.ExpiresAt != nil && !s.now().Before(crt.Spec.ExpiresAt.Time) {
		return nil, nil, fmt.Errorf("registration token %s expired at %s", name, crt.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	var cluster v1.Cluster
	if err := s.cache.Get(ctx, client.ObjectKey{Name: crt.Spec.ClusterName}, &cluster); err != nil {
		return nil, nil, fmt.Errorf("registration token %s: cluster %s: %w", name, crt.Spec.ClusterName, err)
	}
	if !ownedBy(&crt, &cluster) {
		return nil, nil, fmt.Errorf("registration token %s is of an earlier cluster named %s", name, cluster.Name)
	}
	if !cluster.DeletionTimestamp.IsZero() {
		return nil, nil, fmt.Errorf("registration token %s: cluster %s is being deleted", name, cluster.Name)
	}
	return &crt, &cluster, nil
}

// ownedBy reports whether obj belongs to this Cluster (by UID).
func ownedBy(obj metav1.Object, c *v1.Cluster) bool {
	for _, o := range obj.GetOwnerReferences() {
		if o.Kind == "Cluster" && o.UID == c.UID {
			return true
		}
	}
	return false
}

// importInfo says how to use a registration token; base is the server URL.
// With a generated certificate, which no system trusts, the command fetches
// the manifest with curl pinned to the server's public key, so it is as
// safe as with a trusted certificate.
func (s *Server) importInfo(base, token string, crt *v1.ClusterRegistrationToken) herdapi.ImportInfo {
	u := base + "/v1/import/" + url.PathEscape(token) + ".yaml"
	cmd := "kubectl apply -f " + u
	if s.keyPin != "" {
		cmd = fmt.Sprintf("curl -fsSL --insecure --pinnedpubkey '%s' '%s' | kubectl apply -f -", s.keyPin, u)
	}
	return herdapi.ImportInfo{URL: u, Command: cmd, ExpiresAt: crt.Spec.ExpiresAt.Time}
}

// serverURL is the URL agents and clients reach this server at.
func (s *Server) serverURL(host string) string {
	if s.cfg.ServerURL != "" {
		return strings.TrimSuffix(s.cfg.ServerURL, "/")
	}
	return (&url.URL{Scheme: "https", Host: host}).String()
}
