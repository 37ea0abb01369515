package machinepools

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"
)

// drainTimeout bounds one drain; a drain that PodDisruptionBudgets hold
// up fails and is tried again at the next reconcile, the machine kept.
const drainTimeout = 2 * time.Minute

// drainAndDelete cordons node, evicts its pods with kubectl's drain
// (honouring PodDisruptionBudgets; DaemonSet pods stay, as kubectl drain
// --ignore-daemonsets does) and deletes the Node. A node that does not
// exist is done.
func drainAndDelete(ctx context.Context, kube kubernetes.Interface, node string, log *slog.Logger) error {
	n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	out := &logWriter{log: log}
	h := &drain.Helper{Ctx: ctx, Client: kube, Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: drainTimeout, Out: out, ErrOut: out}
	if err := drain.RunCordonOrUncordon(h, n, true); err != nil {
		return fmt.Errorf("cordon node %s: %w", node, err)
	}
	if err := drain.RunNodeDrain(h, node); err != nil {
		return fmt.Errorf("drain node %s: %w", node, err)
	}
	if err := kube.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", node, err)
	}
	return nil
}

// logWriter puts the drain library's lines in the log.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line != "" {
			w.log.Info("drain", "output", line)
		}
	}
	return len(p), nil
}

var _ io.Writer = (*logWriter)(nil)
