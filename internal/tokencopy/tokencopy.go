// Package tokencopy is the format of the token copies that Herd keeps in
// each downstream cluster for the authorized cluster endpoint: one Secret
// per token scoped to that cluster, in namespace herd-tokens, holding the
// token's salted hash (never the token), its expiry, whether it is
// enabled, and the user's id and groups. The cluster's RBAC controller
// writes them; `herd kube-api-auth` reads them to answer TokenReviews.
package tokencopy

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/wellknown"
)

// Label marks a copy; its value is the Herd cluster name.
const Label = "management.herd.dev/token-copy"

// Keys of a copy's data.
const (
	KeyHash       = "hash"       // herdtoken.Hash of the token's secret
	KeyUser       = "userName"   // the Herd User id (u-...)
	KeyUsername   = "username"   // the login name, for the extra "username"
	KeyGroups     = "groups"     // group principals, one per line
	KeyExpiresAt  = "expiresAt"  // RFC 3339
	KeyEnabled    = "enabled"    // "true" or "false"
	KeyCluster    = "cluster"    // the Herd cluster the token is scoped to
	KeyClusterUID = "clusterUID" // that Cluster's UID
)

// Name is the Secret name of a token's copy.
func Name(tokenName string) string { return "herd-token-" + tokenName }

// Copy is a token copy, decoded.
type Copy struct {
	TokenName string
	Hash      string
	UserName  string
	Username  string
	Groups    []string
	ExpiresAt time.Time
	Enabled   bool
	Cluster   string
	// ClusterUID is the Cluster's UID: a cluster made again under the same
	// name has another, and kube-api-auth refuses copies of the old one.
	ClusterUID string
}

// Secret renders c as its Secret.
func (c Copy) Secret() *corev1.Secret {
	enabled := "false"
	if c.Enabled {
		enabled = "true"
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: Name(c.TokenName), Namespace: wellknown.TokenCopiesNamespace,
			Labels: map[string]string{Label: c.Cluster, wellknown.ManagedByLabel: wellknown.ManagedBy}},
		Type: "management.herd.dev/token-copy",
		Data: map[string][]byte{
			KeyHash: []byte(c.Hash), KeyUser: []byte(c.UserName), KeyUsername: []byte(c.Username),
			KeyGroups: []byte(strings.Join(c.Groups, "\n")), KeyExpiresAt: []byte(c.ExpiresAt.UTC().Format(time.RFC3339)),
			KeyEnabled: []byte(enabled), KeyCluster: []byte(c.Cluster), KeyClusterUID: []byte(c.ClusterUID),
		},
	}
}

// FromSecret decodes a copy; a Secret that is not a well-formed copy is
// an error (and grants nothing).
func FromSecret(s *corev1.Secret) (Copy, error) {
	name, ok := strings.CutPrefix(s.Name, "herd-token-")
	if !ok || s.Labels[Label] == "" {
		return Copy{}, fmt.Errorf("tokencopy: %s is not a token copy", s.Name)
	}
	expires, err := time.Parse(time.RFC3339, string(s.Data[KeyExpiresAt]))
	if err != nil {
		return Copy{}, fmt.Errorf("tokencopy: %s: bad expiresAt: %w", s.Name, err)
	}
	c := Copy{TokenName: name, Hash: string(s.Data[KeyHash]), UserName: string(s.Data[KeyUser]), Username: string(s.Data[KeyUsername]),
		ExpiresAt: expires, Enabled: string(s.Data[KeyEnabled]) == "true", Cluster: string(s.Data[KeyCluster]),
		ClusterUID: string(s.Data[KeyClusterUID])}
	if g := strings.TrimSpace(string(s.Data[KeyGroups])); g != "" {
		c.Groups = strings.Split(g, "\n")
	}
	if c.Hash == "" || c.UserName == "" || c.Cluster == "" || c.Cluster != s.Labels[Label] {
		return Copy{}, fmt.Errorf("tokencopy: %s is incomplete", s.Name)
	}
	return c, nil
}
