package clusterstatus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestConfigValidate(t *testing.T) {
	valid := Config{Cluster: "c-1", Kube: fake.NewClientset(), Writer: &recordingWriter{}}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr bool
	}{
		{"valid with defaults", func(*Config) {}, false},
		{"no cluster", func(c *Config) { c.Cluster = "" }, true},
		{"no kube", func(c *Config) { c.Kube = nil }, true},
		{"no writer", func(c *Config) { c.Writer = nil }, true},
		{"negative min interval", func(c *Config) { c.MinInterval = -time.Second }, true},
		{"negative readyz interval", func(c *Config) { c.ReadyzInterval = -time.Second }, true},
		{"negative heartbeat", func(c *Config) { c.Heartbeat = -time.Second }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			_, err := New(cfg)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("New: got error %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error: got %v, want it to wrap ErrInvalidConfig", err)
			}
		})
	}
}

// TestBatching creates pods much faster than MinInterval and checks that
// the status is written at most once per interval and ends with the right
// sums.
func TestBatching(t *testing.T) {
	const pods, minInterval = 500, 200 * time.Millisecond
	ctx := context.Background()
	cp := testNode("cp", true, map[string]string{"node-role.kubernetes.io/control-plane": ""})
	worker := testNode("worker", true, map[string]string{"node-role.kubernetes.io/worker": ""})
	kube := newKube(t, newFakeAPIServer(t), cp, worker)
	w := &recordingWriter{}
	start(t, Config{Kube: kube, Writer: w, MinInterval: minInterval, ReadyzInterval: time.Hour, Heartbeat: time.Hour})

	eventually(t, "first write", func() (bool, string) {
		_, n, ok := w.last()
		return ok, fmt.Sprintf("%d writes", n)
	})
	first, before, _ := w.last()
	if first.Ready.Status != metav1.ConditionTrue || first.NodeCount != 2 || first.Nodes[0].Name != "cp" {
		t.Errorf("first write: got ready %s, %d nodes (%+v), want ready True, nodes cp and worker",
			first.Ready.Status, first.NodeCount, first.Nodes)
	}

	began := time.Now()
	events := 0
	for i := range pods {
		p := testPod(fmt.Sprintf("p%04d", i), "worker", corev1.PodRunning, "100m", "64Mi")
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		events++
	}
	// These do not count.
	for i, p := range []*corev1.Pod{
		testPod("done", "worker", corev1.PodSucceeded, "1", "1Gi"),
		testPod("unscheduled", "", corev1.PodPending, "1", "1Gi"),
	} {
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
		events++
	}

	want := resources("50", "32000Mi", fmt.Sprint(pods))
	eventually(t, "a write with all pods", func() (bool, string) {
		o, _, _ := w.last()
		return equality.Semantic.DeepEqual(o.Requested, want), fmt.Sprintf("requested %v, want %v", o.Requested, want)
	})
	elapsed := time.Since(began)
	final, after, _ := w.last()
	writes := after - before
	t.Logf("%d events, %d writes in %v", events, writes, elapsed)
	if limit := int(elapsed/minInterval) + 1; writes > limit {
		t.Errorf("writes: got %d in %v, want at most one per %v (%d)", writes, elapsed, minInterval, limit)
	}
	if writes >= events/5 {
		t.Errorf("writes: got %d for %d events, want far fewer", writes, events)
	}
	if wantCap := resources("8", "16Gi", "220"); !equality.Semantic.DeepEqual(final.Capacity, wantCap) {
		t.Errorf("capacity: got %v, want %v", final.Capacity, wantCap)
	}
}

// TestNoChangeNoWrite checks that updates which change nothing the status
// shows do not make writes.
func TestNoChangeNoWrite(t *testing.T) {
	ctx := context.Background()
	pod := testPod("p", "n1", corev1.PodRunning, "100m", "64Mi")
	kube := newKube(t, newFakeAPIServer(t), testNode("n1", true, nil), pod)
	w := &recordingWriter{}
	start(t, Config{Kube: kube, Writer: w, MinInterval: 10 * time.Millisecond, ReadyzInterval: time.Hour, Heartbeat: time.Hour})
	eventually(t, "first write", func() (bool, string) {
		_, n, ok := w.last()
		return ok, fmt.Sprintf("%d writes", n)
	})
	_, before, _ := w.last()

	for i := range 50 {
		pod.Labels["round"] = fmt.Sprint(i)
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionStatus(fmt.Sprint(i%2 == 0))}}
		if _, err := kube.CoreV1().Pods("default").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A change that counts, after the ones that do not: its write is the
	// only one.
	if _, err := kube.CoreV1().Pods("default").Create(ctx, testPod("q", "n1", corev1.PodRunning, "100m", "64Mi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a write with two pods", func() (bool, string) {
		o, _, _ := w.last()
		pods := o.Requested[corev1.ResourcePods]
		return pods.Value() == 2, fmt.Sprintf("requested %v", o.Requested)
	})
	if _, after, _ := w.last(); after-before != 1 {
		t.Errorf("writes after 50 label and condition updates and one new pod: got %d, want 1", after-before)
	}
}

// TestHeartbeat checks that an unchanged status is still written every
// heartbeat, with a newer lastSeen.
func TestHeartbeat(t *testing.T) {
	kube := newKube(t, newFakeAPIServer(t), testNode("n1", true, nil))
	w := &recordingWriter{}
	start(t, Config{Kube: kube, Writer: w, Now: (&stepClock{}).Now,
		MinInterval: 10 * time.Millisecond, ReadyzInterval: 10 * time.Millisecond, Heartbeat: 30 * time.Millisecond})
	eventually(t, "three writes", func() (bool, string) {
		_, n, _ := w.last()
		return n >= 3, fmt.Sprintf("%d writes", n)
	})
	writes := w.all()
	for i := 1; i < len(writes); i++ {
		if !writes[i].sameAs(writes[0]) {
			t.Errorf("write %d: got %+v, want the same status as the first, %+v", i, writes[i], writes[0])
		}
	}
	if first, last := writes[0].LastSeen, writes[len(writes)-1].LastSeen; !last.After(first) {
		t.Errorf("lastSeen: got %v after %v, want it to move on", last, first)
	}
}
