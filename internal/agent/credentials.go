package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"herd.dev/herd/internal/wellknown"
)

// credentialsSecret is the import manifest's Secret with the agent's token.
const credentialsSecret = "herd-credentials"

// keepAgentToken writes the cluster's agent token over the registration
// token in the agent's Secret, so that restarted agents register with a
// token that does not expire. Failures are logged: the running agent has
// the token in memory.
func keepAgentToken(ctx context.Context, token string, log *slog.Logger) {
	cfg, err := rest.InClusterConfig()
	if err == nil {
		var cs *kubernetes.Clientset
		if cs, err = kubernetes.NewForConfig(cfg); err == nil {
			ns := os.Getenv("POD_NAMESPACE")
			if ns == "" {
				ns = wellknown.Namespace
			}
			patch, _ := json.Marshal(map[string]any{"stringData": map[string]string{"token": token}})
			_, err = cs.CoreV1().Secrets(ns).Patch(ctx, credentialsSecret, types.MergePatchType, patch, metav1.PatchOptions{})
		}
	}
	if err != nil {
		log.Warn("failed to store the agent token in the agent's Secret; a restarted agent will register with the registration token", "err", err)
	}
}

// Secrets the agent keeps in its namespace besides credentialsSecret.
const (
	// agentTokenSecret is a long-lived token of the agent's service
	// account, which the agent registers as Herd's credential: a pod's
	// projected token ends with its pod, and Herd must reach the cluster
	// through the node agents' fallback tunnel when no agent pod is left.
	agentTokenSecret = "herd-agent-token"
	agentAccount     = "herd-agent"
	// NodeCredentialsSecret holds what the node agents' fallback tunnel
	// needs (url, ca-checksum, token), and no agent credential.
	NodeCredentialsSecret = "herd-node-credentials"
)

// inCluster is a client of the agent's own cluster, in its namespace.
type inCluster struct {
	cs kubernetes.Interface
	ns string
}

func newInCluster() (*inCluster, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = wellknown.Namespace
	}
	return &inCluster{cs: cs, ns: ns}, nil
}

// longLivedToken returns the token of agentTokenSecret, making the Secret
// if it is missing and waiting up to 30 s for Kubernetes to fill it; "" if
// that fails (the agent then registers its pod's token, and says so).
func (ic *inCluster) longLivedToken(ctx context.Context, log *slog.Logger) string {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: agentTokenSecret, Namespace: ic.ns,
		Annotations: map[string]string{corev1.ServiceAccountNameKey: agentAccount}, Labels: wellknown.ManagedLabels(nil)},
		Type: corev1.SecretTypeServiceAccountToken}
	if _, err := ic.cs.CoreV1().Secrets(ic.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		log.Warn("cannot make a long-lived token; registering the pod's token, which ends with the pod", "err", err)
		return ""
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		got, err := ic.cs.CoreV1().Secrets(ic.ns).Get(ctx, agentTokenSecret, metav1.GetOptions{})
		if err == nil && len(got.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return string(got.Data[corev1.ServiceAccountTokenKey])
		}
		if ctx.Err() != nil {
			return ""
		}
	}
	log.Warn("the long-lived token was not filled in 30 s; registering the pod's token, which ends with the pod")
	return ""
}

// hasNodeCredentials reports whether the node agents have their Secret.
func (ic *inCluster) hasNodeCredentials(ctx context.Context) bool {
	s, err := ic.cs.CoreV1().Secrets(ic.ns).Get(ctx, NodeCredentialsSecret, metav1.GetOptions{})
	return err == nil && len(s.Data["token"]) > 0
}

// storeNodeCredentials writes the node agents' Secret.
func (ic *inCluster) storeNodeCredentials(ctx context.Context, server, checksum, token string, log *slog.Logger) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: NodeCredentialsSecret, Namespace: ic.ns, Labels: wellknown.ManagedLabels(nil)},
		StringData: map[string]string{"url": server, "ca-checksum": checksum, "token": token}}
	_, err := ic.cs.CoreV1().Secrets(ic.ns).Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = ic.cs.CoreV1().Secrets(ic.ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		log.Warn("failed to store the node agents' credentials; they hold no fallback tunnel", "err", err)
		return
	}
	log.Info("node agents' credentials stored", "secret", NodeCredentialsSecret)
}
