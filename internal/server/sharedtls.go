package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/wellknown"
)

// tlsSecretName is the Secret in Herd's namespace of the management
// cluster that holds Herd's CA and its generated serving certificate, so
// that every replica serves the same certificate (agents pin the CA,
// import commands pin the key) and issues peer certificates of one CA.
const tlsSecretName = "herd-tls"

// tlsFiles are the files of the Secret's keys under DataDir/tls.
var tlsFiles = map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "serving.crt": 0o644, "serving.key": 0o600}

// sharedCA makes the data dir's TLS files those of the management
// cluster: the first replica stores its own (made if need be), the
// others take them. It returns Herd's CA.
func (s *Server) sharedCA(ctx context.Context) (*certs.Authority, error) {
	dir := filepath.Join(s.cfg.DataDir, "tls")
	secrets := s.kube.CoreV1().Secrets(wellknown.Namespace)
	secret, err := secrets.Get(ctx, tlsSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, _, err := generatedTLS(s.cfg.DataDir, servingNames(s.cfg)); err != nil {
			return nil, err
		}
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: tlsSecretName, Namespace: wellknown.Namespace}, Data: map[string][]byte{}}
		for name := range tlsFiles {
			if secret.Data[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
		if _, err = secrets.Create(ctx, secret, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
			secret, err = secrets.Get(ctx, tlsSecretName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to share Herd's CA through secret %s/%s: %w", wellknown.Namespace, tlsSecretName, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for name, mode := range tlsFiles {
		data := secret.Data[name]
		if len(data) == 0 {
			return nil, fmt.Errorf("secret %s/%s has no %s", wellknown.Namespace, tlsSecretName, name)
		}
		path := filepath.Join(dir, name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
			continue
		}
		if err := certs.WriteFileAtomic(path, data, mode); err != nil {
			return nil, err
		}
	}
	return certs.ParseAuthority(secret.Data["ca.crt"], secret.Data["ca.key"])
}
