package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// watchOutcome is what a watch from a resourceVersion gives first: a
// bookmark (with the initial-events-end annotation when asked for initial
// events), or an error status, as the apiserver sent it.
type watchOutcome struct {
	bookmark, initialEnd bool
	code                 int32
	reason               metav1.StatusReason
}

func firstWatchEvent(t *testing.T, cs kubernetes.Interface, opts metav1.ListOptions) watchOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, opts)
	if err != nil {
		var status apierrors.APIStatus
		if ok := asStatus(err, &status); ok {
			return watchOutcome{code: status.Status().Code, reason: status.Status().Reason}
		}
		t.Fatalf("watch %+v: %v", opts, err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Bookmark:
			cm, _ := ev.Object.(*corev1.ConfigMap)
			return watchOutcome{bookmark: true, initialEnd: cm != nil && cm.Annotations[metav1.InitialEventsAnnotationKey] == "true"}
		case watch.Error:
			status, _ := ev.Object.(*metav1.Status)
			if status == nil {
				t.Fatalf("watch error event without a status: %#v", ev.Object)
			}
			return watchOutcome{code: status.Code, reason: status.Reason}
		}
	}
	t.Fatalf("watch %+v ended without a bookmark or an error", opts)
	return watchOutcome{}
}

func asStatus(err error, into *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*into = s
	}
	return ok
}

// TestWatchSemantics checks that what the apiserver says on a watch
// reaches the client through Herd unchanged: bookmarks, here the one with
// the initial-events-end annotation that ends a streaming list. (410 Gone
// for a compacted resourceVersion is an error event like any other; a
// fresh cluster's watch cache serves old versions, so it is not produced
// here.)
func TestWatchSemantics(t *testing.T) {
	e := newEnv(t, "east")
	through, err := kubernetes.NewForConfig(restConfig(t, e.kubectl(t, e.admin).Kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := kubernetes.NewForConfig(restConfig(t, clusters.Get("east").KubeconfigPath()))
	if err != nil {
		t.Fatal(err)
	}
	truth := true
	tests := []struct {
		name string
		opts metav1.ListOptions
		want func(watchOutcome) error
	}{
		{"bookmark at the end of the initial events", metav1.ListOptions{AllowWatchBookmarks: true, SendInitialEvents: &truth,
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan},
			func(o watchOutcome) error {
				if !o.bookmark || !o.initialEnd {
					return fmt.Errorf("got %+v, want a bookmark marking the end of the initial events", o)
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := firstWatchEvent(t, direct, tt.opts)
			got := firstWatchEvent(t, through, tt.opts)
			if err := tt.want(want); err != nil {
				t.Fatalf("directly: %v (the test's premise)", err)
			}
			if got != want {
				t.Errorf("through Herd: got %+v, want what the apiserver sends directly, %+v", got, want)
			}
		})
	}
}
