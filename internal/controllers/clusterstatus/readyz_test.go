package clusterstatus

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "herd.dev/herd/api/v1"
)

func TestNextReady(t *testing.T) {
	before := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	now := before.Add(time.Hour)
	ready := metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionTrue, Reason: ReasonAPIServerReady,
		Message: "the kube-apiserver's /readyz passes", LastTransitionTime: metav1.NewTime(before)}
	notReady := metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionFalse, Reason: ReasonAPIServerNotReady,
		Message: "/readyz failed: etcd down", LastTransitionTime: metav1.NewTime(before)}
	at := func(c metav1.Condition, t time.Time) metav1.Condition {
		c.LastTransitionTime = metav1.NewTime(t)
		return c
	}
	tests := []struct {
		name string
		prev metav1.Condition
		err  error
		want metav1.Condition
	}{
		{"first probe ready", metav1.Condition{}, nil, at(ready, now)},
		{"first probe not ready", metav1.Condition{}, errors.New("etcd down"), at(notReady, now)},
		{"still ready keeps the time", ready, nil, ready},
		{"still not ready keeps the time", notReady, errors.New("etcd down"), notReady},
		{"not ready with another error keeps the time", notReady, errors.New("timeout"),
			func() metav1.Condition { c := notReady; c.Message = "/readyz failed: timeout"; return c }()},
		{"becomes not ready", ready, errors.New("etcd down"), at(notReady, now)},
		{"becomes ready", notReady, nil, at(ready, now)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextReady(tt.prev, tt.err, now); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestShortMessage(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "/readyz failed: x", "/readyz failed: x"},
		{"one line", "[-]etcd failed: reason withheld\nreadyz check failed", "[-]etcd failed: reason withheld readyz check failed"},
		{"long", strings.Repeat("a", 300), strings.Repeat("a", maxMessage-3) + "..."},
		{"long multibyte", strings.Repeat("é", 200), strings.Repeat("é", (maxMessage-3)/2) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortMessage(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnswered(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"ready", nil, true},
		{"not ready", apierrors.NewInternalError(errors.New("readyz check failed")), true},
		{"wrapped status", fmt.Errorf("probe: %w", apierrors.NewServiceUnavailable("starting")), true},
		{"no connection", &url.Error{Op: "Get", URL: "https://c-1/readyz", Err: errors.New("connection refused")}, false},
		{"no REST client", errNoRESTClient, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answered(tt.err); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReadyz runs the controller against an apiserver whose /readyz fails
// and recovers, and checks the Ready condition and the version it writes.
func TestReadyz(t *testing.T) {
	api := newFakeAPIServer(t)
	w := &recordingWriter{}
	start(t, Config{Kube: newKube(t, api), Writer: w, Now: (&stepClock{}).Now,
		MinInterval: 10 * time.Millisecond, ReadyzInterval: 10 * time.Millisecond, Heartbeat: 20 * time.Millisecond})

	waitReady := func(status metav1.ConditionStatus) Observed {
		t.Helper()
		var o Observed
		eventually(t, "Ready "+string(status), func() (bool, string) {
			o, _, _ = w.last()
			return o.Ready.Status == status, fmt.Sprintf("Ready %+v", o.Ready)
		})
		return o
	}
	ready := waitReady(metav1.ConditionTrue)
	if ready.Ready.Reason != ReasonAPIServerReady || ready.KubernetesVersion != "v1.37.2" || ready.LastSeen.IsZero() {
		t.Errorf("ready: got reason %q, version %q, lastSeen %v; want %s, v1.37.2, set",
			ready.Ready.Reason, ready.KubernetesVersion, ready.LastSeen, ReasonAPIServerReady)
	}
	eventually(t, "a heartbeat", func() (bool, string) {
		_, n, _ := w.last()
		return n >= 2, fmt.Sprintf("%d writes", n)
	})

	api.notReady.Store(true)
	notReady := waitReady(metav1.ConditionFalse)
	if notReady.Ready.Reason != ReasonAPIServerNotReady || !strings.Contains(notReady.Ready.Message, "readyz check failed") {
		t.Errorf("not ready: got reason %q message %q, want %s and the apiserver's answer",
			notReady.Ready.Reason, notReady.Ready.Message, ReasonAPIServerNotReady)
	}
	if !notReady.LastSeen.After(ready.LastSeen) {
		t.Errorf("lastSeen: got %v, want after %v: a failing /readyz is still an answer", notReady.LastSeen, ready.LastSeen)
	}

	api.notReady.Store(false)
	again := waitReady(metav1.ConditionTrue)

	// The transition time changes with the status, and only then.
	writes := w.all()
	for i := 1; i < len(writes); i++ {
		prev, cur := writes[i-1].Ready, writes[i].Ready
		if sameStatus, sameTime := prev.Status == cur.Status, prev.LastTransitionTime.Equal(&cur.LastTransitionTime); sameStatus != sameTime {
			t.Errorf("write %d: status %s to %s, lastTransitionTime %v to %v; want the time to change with the status only",
				i, prev.Status, cur.Status, prev.LastTransitionTime, cur.LastTransitionTime)
		}
	}
	if !ready.Ready.LastTransitionTime.Before(&notReady.Ready.LastTransitionTime) ||
		!notReady.Ready.LastTransitionTime.Before(&again.Ready.LastTransitionTime) {
		t.Errorf("lastTransitionTimes: got %v, %v, %v, want increasing", ready.Ready.LastTransitionTime,
			notReady.Ready.LastTransitionTime, again.Ready.LastTransitionTime)
	}
}

// TestReadyzWithoutRESTClient: the plain fake clientset has no REST client
// for /readyz; the cluster is then not ready, and the controller goes on.
func TestReadyzWithoutRESTClient(t *testing.T) {
	w := &recordingWriter{}
	start(t, Config{Kube: fake.NewClientset(testNode("n1", true, nil)), Writer: w,
		MinInterval: 10 * time.Millisecond, ReadyzInterval: time.Hour, Heartbeat: time.Hour})
	eventually(t, "first write", func() (bool, string) {
		o, n, _ := w.last()
		return n > 0, fmt.Sprintf("%d writes, %+v", n, o)
	})
	o, _, _ := w.last()
	if o.Ready.Status != metav1.ConditionFalse || o.Ready.Reason != ReasonAPIServerNotReady || o.NodeCount != 1 || !o.LastSeen.IsZero() {
		t.Errorf("got Ready %+v, %d nodes, lastSeen %v; want False %s, 1 node, no lastSeen",
			o.Ready, o.NodeCount, o.LastSeen, ReasonAPIServerNotReady)
	}
}
