package clusters

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/wellknown"
)

// DefaultGracePeriod keeps older registration tokens valid after a rotation.
const DefaultGracePeriod = time.Hour

// issueRegistrationToken creates a registration token for cluster and
// returns it; only its salted hash is stored.
func (rs *Registrar) IssueRegistrationToken(ctx context.Context, cluster *v1.Cluster) (string, *v1.ClusterRegistrationToken, error) {
	secret := herdtoken.NewSecret()
	expires := metav1.NewTime(rs.now().Add(rs.ttl).Truncate(time.Second))
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
	if err := rs.client.Create(ctx, crt); err != nil {
		return "", nil, fmt.Errorf("failed to create a registration token for cluster %s: %w", cluster.Name, err)
	}
	rs.await(ctx, crt, false)
	return herdtoken.Format(crt.Name, secret), crt, nil
}

// rotateRegistrationToken issues a new token and ends the older ones of the
// cluster after grace (now, if grace is negative).
func (rs *Registrar) RotateRegistrationToken(ctx context.Context, cluster *v1.Cluster, grace time.Duration) (string, *v1.ClusterRegistrationToken, error) {
	var old v1.ClusterRegistrationTokenList
	if err := rs.cache.List(ctx, &old, client.MatchingLabels{wellknown.ClusterLabel: cluster.Name}); err != nil {
		return "", nil, err
	}
	token, crt, err := rs.IssueRegistrationToken(ctx, cluster)
	if err != nil {
		return "", nil, err
	}
	end := metav1.NewTime(rs.now().Add(max(grace, 0)).Truncate(time.Second))
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
		if err := rs.client.Patch(ctx, o, patch); client.IgnoreNotFound(err) != nil {
			return "", nil, fmt.Errorf("failed to end registration token %s: %w", o.Name, err)
		}
		rs.await(ctx, o, false)
	}
	// The agents that registered with an earlier import command keep
	// working for the grace period, then must register with the new one.
	if err := rs.endAgentTokens(ctx, cluster, crt.Name, end); err != nil {
		return "", nil, err
	}
	// Agents connected with an agent token of the earlier import command
	// lose their sessions when the grace period ends; those with a current
	// token reconnect at once.
	key := sessionKey(cluster)
	time.AfterFunc(max(grace, 0), func() { rs.disconnect(key) })
	return token, crt, nil
}

// verifyRegistrationToken returns the live registration token and cluster
// that token names, or an error for the log.
func (rs *Registrar) VerifyRegistrationToken(ctx context.Context, token string) (*v1.ClusterRegistrationToken, *v1.Cluster, error) {
	name, secret, err := herdtoken.Parse(token)
	if err != nil {
		return nil, nil, err
	}
	var crt v1.ClusterRegistrationToken
	if err := rs.cache.Get(ctx, client.ObjectKey{Name: name}, &crt); err != nil {
		return nil, nil, fmt.Errorf("registration token %s: %w", name, err)
	}
	if !herdtoken.Verify(crt.Spec.TokenHash, secret) {
		return nil, nil, fmt.Errorf("registration token %s: wrong secret", name)
	}
	if crt.Spec.ExpiresAt != nil && !rs.now().Before(crt.Spec.ExpiresAt.Time) {
		return nil, nil, fmt.Errorf("registration token %s expired at %s", name, crt.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	var cluster v1.Cluster
	if err := rs.cache.Get(ctx, client.ObjectKey{Name: crt.Spec.ClusterName}, &cluster); err != nil {
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
