package clusters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/wellknown"
)

// agentTokenPrefix starts the name of a ClusterAgentToken; the token is
// "<name>:<secret>" like every Herd token, and only its salted hash is
// stored.
const agentTokenPrefix = "at-"

// maxAgentTokensPerRegistration bounds the agent tokens one registration
// token hands out (one per agent replica and restart before the agent's
// Secret holds its agent token).
const maxAgentTokensPerRegistration = 16

// supersededAnnotation marks a registration token that a newer import
// command replaced; agent tokens from it end with it.
const supersededAnnotation = "management.herd.dev/superseded"

// ErrTooManyRegistrations: a registration token handed out its share.
var ErrTooManyRegistrations = errors.New("clusters: too many registrations with one registration token")

// maxNodeTokens bounds the node agents' tokens of a cluster: the oldest
// goes when another is issued (an agent asks for one when its cluster has
// none stored).
const maxNodeTokens = 4

// issueNodeToken makes a token for the cluster's node agents, which opens
// their fallback tunnel and nothing else, and deletes the oldest beyond
// maxNodeTokens.
func (rs *Registrar) issueNodeToken(ctx context.Context, cluster *v1.Cluster) (string, error) {
	var existing v1.ClusterAgentTokenList
	if err := rs.api.List(ctx, &existing, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return "", err
	}
	var nodes []v1.ClusterAgentToken
	for _, t := range existing.Items {
		if t.Spec.Scope == v1.AgentTokenScopeNodeTunnel {
			nodes = append(nodes, t)
		}
	}
	slices.SortFunc(nodes, func(a, b v1.ClusterAgentToken) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	for i := 0; i+maxNodeTokens-1 < len(nodes); i++ {
		if err := rs.client.Delete(ctx, &nodes[i]); client.IgnoreNotFound(err) != nil {
			return "", err
		}
	}
	at, secret := newAgentToken(cluster)
	at.Spec.Scope = v1.AgentTokenScopeNodeTunnel
	if err := rs.client.Create(ctx, at); err != nil {
		return "", fmt.Errorf("failed to create a node token for cluster %s: %w", cluster.Name, err)
	}
	rs.await(ctx, at, false)
	return herdtoken.Format(at.Name, secret), nil
}

// newAgentToken is a new agent token of cluster (to create) and its
// secret, of which only the salted hash is kept.
func newAgentToken(cluster *v1.Cluster) (*v1.ClusterAgentToken, string) {
	secret := herdtoken.NewSecret()
	return &v1.ClusterAgentToken{
		ObjectMeta: metav1.ObjectMeta{
			Name:   herdtoken.NewName(agentTokenPrefix),
			Labels: map[string]string{wellknown.ClusterLabel: cluster.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID,
			}},
		},
		Spec: v1.ClusterAgentTokenSpec{ClusterName: cluster.Name, ClusterUID: string(cluster.UID), TokenHash: herdtoken.Hash(secret)},
	}, secret
}

// VerifyNodeToken returns the cluster of a live node agents' token.
func (rs *Registrar) VerifyNodeToken(ctx context.Context, token string) (*v1.Cluster, error) {
	if !strings.HasPrefix(token, agentTokenPrefix) {
		return nil, errors.New("not a node token")
	}
	return rs.verifyAgentToken(ctx, token, v1.AgentTokenScopeNodeTunnel)
}

// issueAgentToken makes a new agent token for a registration with crt.
func (rs *Registrar) issueAgentToken(ctx context.Context, cluster *v1.Cluster, crt *v1.ClusterRegistrationToken) (string, error) {
	var existing v1.ClusterAgentTokenList
	if err := rs.cache.List(ctx, &existing, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return "", err
	}
	n := 0
	for _, t := range existing.Items {
		if t.Spec.RegistrationToken == crt.Name && t.Spec.Scope == "" {
			n++
		}
	}
	if n >= maxAgentTokensPerRegistration {
		return "", fmt.Errorf("%w: %s registered %d agents", ErrTooManyRegistrations, crt.Name, n)
	}
	at, secret := newAgentToken(cluster)
	at.Spec.RegistrationToken = crt.Name
	if _, superseded := crt.Annotations[supersededAnnotation]; superseded {
		at.Spec.ExpiresAt = crt.Spec.ExpiresAt // ends with the import command it came from
	}
	if err := rs.client.Create(ctx, at); err != nil {
		return "", fmt.Errorf("failed to create an agent token for cluster %s: %w", cluster.Name, err)
	}
	rs.await(ctx, at, false)
	return herdtoken.Format(at.Name, secret), nil
}

// verifyAgentToken returns the cluster of a live agent token of scope:
// its cluster must be the one it was issued for (same UID).
func (rs *Registrar) verifyAgentToken(ctx context.Context, token, scope string) (*v1.Cluster, error) {
	name, secret, err := herdtoken.Parse(token)
	if err != nil {
		return nil, err
	}
	var at v1.ClusterAgentToken
	if err := rs.cache.Get(ctx, client.ObjectKey{Name: name}, &at); err != nil {
		return nil, fmt.Errorf("agent token %s: %w", name, err)
	}
	if !herdtoken.Verify(at.Spec.TokenHash, secret) {
		return nil, fmt.Errorf("agent token %s: wrong secret", name)
	}
	if at.Spec.Scope != scope {
		return nil, fmt.Errorf("agent token %s is for %q, not %q", name, at.Spec.Scope, scope)
	}
	if at.Spec.ExpiresAt != nil && !rs.now().Before(at.Spec.ExpiresAt.Time) {
		return nil, fmt.Errorf("agent token %s ended at %s (the import command was reissued)", name, at.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	var c v1.Cluster
	if err := rs.cache.Get(ctx, client.ObjectKey{Name: at.Spec.ClusterName}, &c); err != nil {
		return nil, fmt.Errorf("agent token %s: cluster %s: %w", name, at.Spec.ClusterName, err)
	}
	if string(c.UID) != at.Spec.ClusterUID {
		return nil, fmt.Errorf("agent token %s is of an earlier cluster named %s", name, c.Name)
	}
	return &c, nil
}

// endAgentTokens sets the end of a cluster's agent tokens that did not
// come from keep (the registration token of a reissued import command).
// It reads them uncached, so that a token issued a moment ago is ended
// too, and waits until the cache, which verifies tokens, sees each end.
func (rs *Registrar) endAgentTokens(ctx context.Context, cluster *v1.Cluster, keep string, end metav1.Time) error {
	var list v1.ClusterAgentTokenList
	if err := rs.api.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		at := &list.Items[i]
		if at.Spec.RegistrationToken == keep || (at.Spec.ExpiresAt != nil && !at.Spec.ExpiresAt.After(end.Time)) {
			continue
		}
		patch := client.MergeFrom(at.DeepCopy())
		at.Spec.ExpiresAt = &end
		if err := rs.client.Patch(ctx, at, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("failed to end agent token %s: %w", at.Name, err)
		}
		rs.await(ctx, at, false)
	}
	return nil
}
