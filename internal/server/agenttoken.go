package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// agentTokenPrefix starts a cluster agent token:
// cluster-agent:<cluster>:<HMAC of the cluster's name and uid>.
const agentTokenPrefix = "cluster-agent:"

// agentKeySecret holds the key that agent tokens are derived with.
const agentKeySecret = "agent-token-key"

// loadAgentKey reads the agent token key, creating it once.
func (s *Server) loadAgentKey(ctx context.Context) error {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: agentKeySecret, Namespace: Namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"key": key},
	}
	if err := s.client.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the agent token key: %w", err)
	}
	var got corev1.Secret
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: agentKeySecret}, &got); err != nil {
		return fmt.Errorf("failed to read the agent token key: %w", err)
	}
	if len(got.Data["key"]) < 32 {
		return fmt.Errorf("secret %s/%s has no 32-byte key", Namespace, agentKeySecret)
	}
	s.agentKey = got.Data["key"]
	return nil
}

// agentToken is the agent token of a cluster. It is derived, not stored:
// every replica and every registration of the cluster gets the same one,
// and a cluster deleted and made again (new uid) gets another.
func (s *Server) agentToken(c *v1.Cluster) string {
	mac := hmac.New(sha256.New, s.agentKey)
	fmt.Fprintf(mac, "herd-agent:%s:%s", c.Name, c.UID)
	return agentTokenPrefix + c.Name + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verifyAgentToken returns the cluster of an agent token.
func (s *Server) verifyAgentToken(ctx context.Context, token string) (*v1.Cluster, error) {
	name, _, ok := strings.Cut(strings.TrimPrefix(token, agentTokenPrefix), ":")
	if !ok || len(token) > 512 {
		return nil, fmt.Errorf("malformed agent token")
	}
	var c v1.Cluster
	if err := s.cache.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
		return nil, fmt.Errorf("agent token of cluster %.63s: %w", name, err)
	}
	if !hmac.Equal([]byte(s.agentToken(&c)), []byte(token)) {
		return nil, fmt.Errorf("agent token of cluster %s: wrong secret", name)
	}
	return &c, nil
}
