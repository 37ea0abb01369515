package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/wellknown"
)

// Lifetimes of the single-use records of a browser login.
const (
	LoginRequestTTL = 10 * time.Minute
	TicketTTL       = 2 * time.Minute
	// FlowLabel marks the Secrets that hold them.
	FlowLabel = "herd.dev/login-flow"
)

// FlowSecretName is the Secret of a login request or ticket: named by a
// hash of its random key, so the key itself is stored nowhere.
func FlowSecretName(kind, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	return kind + "-" + hex.EncodeToString(sum[:16])
}

// SaveFlow stores a login request or ticket.
func (d *Directory) SaveFlow(ctx context.Context, name string, expires time.Time, data map[string]string) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: wellknown.Namespace, Labels: map[string]string{FlowLabel: "true"},
			Annotations: map[string]string{FlowLabel + "-expires": expires.UTC().Format(time.RFC3339)}},
		Data: map[string][]byte{},
	}
	for k, v := range data {
		secret.Data[k] = []byte(v)
	}
	return d.client.Create(ctx, secret)
}

// TakeFlow reads and deletes a login request or ticket: each is used
// once. A replayed, unknown or expired one is an error.
func (d *Directory) TakeFlow(ctx context.Context, name string) (map[string]string, error) {
	var secret corev1.Secret
	if err := d.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: name}, &secret); err != nil {
		return nil, fmt.Errorf("%w: unknown or used: %v", authn.ErrFlow, err)
	}
	uid := secret.UID
	if err := d.client.Delete(ctx, &secret, client.Preconditions{UID: &uid}); err != nil {
		return nil, fmt.Errorf("%w: already used: %v", authn.ErrFlow, err)
	}
	expires, err := time.Parse(time.RFC3339, secret.Annotations[FlowLabel+"-expires"])
	if err != nil || !d.now().Before(expires) {
		return nil, fmt.Errorf("%w: expired", authn.ErrFlow)
	}
	out := map[string]string{}
	for k, v := range secret.Data {
		out[k] = string(v)
	}
	return out, nil
}

// OutstandingFlows counts the login requests and tickets not yet used or
// swept, up to limit (a metadata-only list, so no Secret data).
func (d *Directory) OutstandingFlows(ctx context.Context, limit int) (int, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := d.api.List(ctx, &list, client.InNamespace(wellknown.Namespace), client.HasLabels{FlowLabel}, client.Limit(int64(limit))); err != nil {
		return 0, err
	}
	n := len(list.Items)
	if list.Continue != "" {
		n = limit
	}
	return n, nil
}

// SweepFlows deletes expired login requests and tickets (used ones are
// deleted when used).
func (d *Directory) SweepFlows(ctx context.Context) {
	var list corev1.SecretList
	if err := d.api.List(ctx, &list, client.InNamespace(wellknown.Namespace), client.HasLabels{FlowLabel}); err != nil {
		return
	}
	for i := range list.Items {
		expires, err := time.Parse(time.RFC3339, list.Items[i].Annotations[FlowLabel+"-expires"])
		if err != nil || !d.now().Before(expires) {
			_ = d.client.Delete(ctx, &list.Items[i])
		}
	}
}
