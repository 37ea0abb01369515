package recording

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// Namespace holds the recordings' chunks in the management cluster: a
// namespace of their own, so that its RBAC can be their own too.
const Namespace = "herd-recordings"

// Labels of an ExecSession: its cluster and its user.
const (
	ClusterLabel = "herd.dev/cluster"
	UserLabel    = "herd.dev/user"
)

// Labels of a chunk Secret.
const (
	sessionLabel = "herd.dev/exec-session"
	chunkLabel   = "herd.dev/chunk"
	castKey      = "cast"
)

// KubeStore keeps recordings in the management cluster: an ExecSession
// per session and a Secret per chunk (what a session shows may be
// secret), which go with it.
type KubeStore struct {
	// Client writes; Reader reads uncached (chunks are not worth a cache
	// of every Secret).
	Client  client.Client
	Reader  client.Reader
	Replica string
}

var _ Store = (*KubeStore)(nil)

// EnsureNamespace creates Namespace if it is missing.
func (k *KubeStore) EnsureNamespace(ctx context.Context) error {
	err := k.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", Namespace, err)
	}
	return nil
}

// Create stores the session's record.
func (k *KubeStore) Create(ctx context.Context, name string, info Info, input bool, started time.Time) error {
	command := info.Command
	for total, i := 0, 0; i < len(command); i++ {
		if total += len(command[i]); total > 4096 || i == 256 {
			command = append(command[:i:i], "…")
			break
		}
	}
	labels := map[string]string{ClusterLabel: info.Cluster}
	if len(validation.IsValidLabelValue(info.User)) == 0 {
		labels[UserLabel] = info.User
	}
	es := &v1.ExecSession{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: v1.ExecSessionSpec{User: info.User, ImpersonatedUser: info.ImpersonatedUser, Cluster: info.Cluster,
			Namespace: info.Namespace, Pod: info.Pod, Container: info.Container, Kind: info.Kind, Command: command,
			TTY: info.TTY, Stdin: info.Stdin, Input: input, Source: info.Source, Replica: k.Replica,
			StartedAt: metav1.NewMicroTime(started)}}
	if err := k.Client.Create(ctx, es); err != nil {
		return err
	}
	es.Status.Phase = v1.SessionRecording
	return k.Client.Status().Update(ctx, es)
}

// WriteChunk creates or replaces chunk index.
func (k *KubeStore) WriteChunk(ctx context.Context, name string, index int, data []byte) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, index), Namespace: Namespace,
		Labels: map[string]string{sessionLabel: name, chunkLabel: strconv.Itoa(index)}},
		Type: "herd.dev/exec-recording", Data: map[string][]byte{castKey: data}}
	err := k.Client.Create(ctx, s)
	if apierrors.IsAlreadyExists(err) {
		err = k.Client.Update(ctx, s) // unconditional: only this session writes it
	}
	return err
}

// Finish stores the session's end.
func (k *KubeStore) Finish(ctx context.Context, name string, sum Summary) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		es := &v1.ExecSession{}
		if err := k.Reader.Get(ctx, client.ObjectKey{Name: name}, es); err != nil {
			return err
		}
		ended := metav1.NewTime(sum.Ended)
		es.Status = v1.ExecSessionStatus{Phase: v1.SessionEnded, EndedAt: &ended, Chunks: int32(sum.Chunks), Bytes: sum.Bytes,
			Truncated: sum.Truncated, LostBytes: sum.LostBytes, Width: int32(sum.Width), Height: int32(sum.Height)}
		return k.Client.Status().Update(ctx, es)
	})
}

// Discard deletes a session and its chunks.
func (k *KubeStore) Discard(ctx context.Context, name string) error {
	if err := k.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(Namespace), client.MatchingLabels{sessionLabel: name}); err != nil {
		return err
	}
	return client.IgnoreNotFound(k.Client.Delete(ctx, &v1.ExecSession{ObjectMeta: metav1.ObjectMeta{Name: name}}))
}

// Open returns the session's recording: its chunks in order.
func (k *KubeStore) Open(ctx context.Context, name string) (io.Reader, error) {
	var list corev1.SecretList
	if err := k.Reader.List(ctx, &list, client.InNamespace(Namespace), client.MatchingLabels{sessionLabel: name}); err != nil {
		return nil, err
	}
	type chunk struct {
		i    int
		data []byte
	}
	chunks := make([]chunk, 0, len(list.Items))
	for _, s := range list.Items {
		i, err := strconv.Atoi(s.Labels[chunkLabel])
		if err != nil {
			continue
		}
		chunks = append(chunks, chunk{i, s.Data[castKey]})
	}
	sort.Slice(chunks, func(a, b int) bool { return chunks[a].i < chunks[b].i })
	readers := make([]io.Reader, 0, len(chunks))
	for n, c := range chunks {
		if c.i != n {
			break // a chunk is missing: the recording ends before it
		}
		readers = append(readers, bytes.NewReader(c.data))
	}
	return io.MultiReader(readers...), nil
}

// Sweep deletes the sessions that started before cutoff, with their
// chunks, and returns how many.
func (k *KubeStore) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	var list v1.ExecSessionList
	if err := k.Reader.List(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for _, es := range list.Items {
		if es.Spec.StartedAt.Time.Before(cutoff) {
			if err := k.Discard(ctx, es.Name); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// SweepEvery deletes, every interval until ctx ends, the recordings older
// than retention (the first time at once).
func SweepEvery(ctx context.Context, k *KubeStore, interval, retention time.Duration, now func() time.Time, log *slog.Logger) {
	for {
		if n, err := k.Sweep(ctx, now().Add(-retention)); err != nil {
			log.Warn("failed to delete old exec session recordings", "err", err)
		} else if n > 0 {
			log.Info("deleted old exec session recordings", "count", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
