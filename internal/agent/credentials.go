package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

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
