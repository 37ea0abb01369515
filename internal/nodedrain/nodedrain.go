// Package nodedrain cordons, drains and uncordons the nodes of a
// downstream cluster with kubectl's drain library, as `kubectl drain
// --ignore-daemonsets --delete-emptydir-data --force` does: evictions
// honour PodDisruptionBudgets, DaemonSet pods stay.
package nodedrain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"
)

// Drain cordons node and evicts its pods, giving up after timeout (a
// PodDisruptionBudget that holds an eviction up makes it wait); a caller
// tries again later, as the node stays cordoned and evicted pods stay
// gone. A node that does not exist is drained.
func Drain(ctx context.Context, kube kubernetes.Interface, node string, timeout time.Duration, log *slog.Logger) error {
	n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	h := helper(ctx, kube, timeout, log)
	if err := drain.RunCordonOrUncordon(h, n, true); err != nil {
		return fmt.Errorf("cordon node %s: %w", node, err)
	}
	if err := drain.RunNodeDrain(h, node); err != nil {
		return fmt.Errorf("drain node %s: %w", node, err)
	}
	return nil
}

// Uncordon makes node schedulable again. A node that does not exist is
// done.
func Uncordon(ctx context.Context, kube kubernetes.Interface, node string, log *slog.Logger) error {
	n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := drain.RunCordonOrUncordon(helper(ctx, kube, time.Minute, log), n, false); err != nil {
		return fmt.Errorf("uncordon node %s: %w", node, err)
	}
	return nil
}

func helper(ctx context.Context, kube kubernetes.Interface, timeout time.Duration, log *slog.Logger) *drain.Helper {
	out := &logWriter{log: log}
	return &drain.Helper{Ctx: ctx, Client: kube, Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: timeout, Out: out, ErrOut: out}
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
