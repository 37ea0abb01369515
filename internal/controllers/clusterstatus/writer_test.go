package clusterstatus

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "herd.dev/herd/api/v1"
)

func TestApplyBody(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	ready := metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionTrue, Reason: ReasonAPIServerReady,
		Message: "ok", LastTransitionTime: metav1.NewTime(at)}
	tests := []struct {
		name string
		o    Observed
		want string
	}{
		{
			name: "full",
			o: Observed{
				Ready:             ready,
				KubernetesVersion: "v1.37.2",
				Nodes:             []v1.ClusterNode{{Name: "cp", Roles: []string{"control-plane"}, KubeletVersion: "v1.37.2", Ready: true}},
				NodeCount:         1,
				Capacity:          resources("4", "8Gi", "110"),
				Allocatable:       resources("3900m", "7Gi", "110"),
				Requested:         resources("250m", "128Mi", "3"),
				LastSeen:          at.Add(5 * time.Second),
			},
			want: `{"apiVersion": "management.herd.dev/v1", "kind": "Cluster", "metadata": {"name": "c-1"},
				"status": {
					"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-24T12:00:00Z", "reason": "APIServerReady", "message": "ok"}],
					"kubernetesVersion": "v1.37.2",
					"nodes": [{"name": "cp", "roles": ["control-plane"], "kubeletVersion": "v1.37.2", "ready": true}],
					"nodeCount": 1,
					"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
					"allocatable": {"cpu": "3900m", "memory": "7Gi", "pods": "110"},
					"requested": {"cpu": "250m", "memory": "128Mi", "pods": "3"},
					"lastSeen": "2026-11-24T12:00:05Z"}}`,
		},
		{
			name: "never answered, no nodes",
			o: Observed{
				Ready: metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonAPIServerNotReady,
					Message: "/readyz failed: timeout", LastTransitionTime: metav1.NewTime(at)},
				Nodes:       []v1.ClusterNode{},
				Capacity:    resources("0", "0", "0"),
				Allocatable: resources("0", "0", "0"),
				Requested:   resources("0", "0", "0"),
			},
			want: `{"apiVersion": "management.herd.dev/v1", "kind": "Cluster", "metadata": {"name": "c-1"},
				"status": {
					"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-24T12:00:00Z", "reason": "APIServerNotReady", "message": "/readyz failed: timeout"}],
					"capacity": {"cpu": "0", "memory": "0", "pods": "0"},
					"allocatable": {"cpu": "0", "memory": "0", "pods": "0"},
					"requested": {"cpu": "0", "memory": "0", "pods": "0"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := applyBody("c-1", tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("apply body:\ngot  %s\nwant %s", body, tt.want)
			}
		})
	}
}

func TestKeepTransitionTime(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	connected := metav1.Condition{Type: v1.ClusterConnected, Status: metav1.ConditionTrue, LastTransitionTime: then}
	cond := func(status metav1.ConditionStatus, at metav1.Time) metav1.Condition {
		return metav1.Condition{Type: v1.ClusterReady, Status: status, Reason: "R", LastTransitionTime: at}
	}
	tests := []struct {
		name   string
		stored []metav1.Condition
		ready  metav1.Condition
		want   metav1.Time
	}{
		{"nothing stored", nil, cond(metav1.ConditionTrue, now), now},
		{"only Connected stored", []metav1.Condition{connected}, cond(metav1.ConditionTrue, now), now},
		{"same status stored", []metav1.Condition{connected, cond(metav1.ConditionTrue, then)}, cond(metav1.ConditionTrue, now), then},
		{"other status stored", []metav1.Condition{cond(metav1.ConditionFalse, then)}, cond(metav1.ConditionTrue, now), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keepTransitionTime(tt.stored, tt.ready).LastTransitionTime; !got.Equal(&tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestManagementWriter checks what ManagementWriter sends: an apply patch
// of the status subresource, forced, under its field owner, with the stored
// Ready transition time. Whether the apiserver keeps the other conditions
// is for a test with a real apiserver.
func TestManagementWriter(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	stored := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c-1"}, Status: v1.ClusterStatus{Conditions: []metav1.Condition{
		{Type: v1.ClusterReady, Status: metav1.ConditionTrue, Reason: ReasonAPIServerReady, LastTransitionTime: then}}}}
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var (
		gotSub   string
		gotType  types.PatchType
		gotBody  []byte
		gotOpts  client.SubResourcePatchOptions
		patchErr error
	)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).WithStatusSubresource(stored).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, _ client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			gotSub, gotType = sub, p.Type()
			gotBody, patchErr = p.Data(obj)
			gotOpts.ApplyOptions(opts)
			return nil
		}}).Build()

	now := metav1.NewTime(then.Add(time.Hour))
	o := Observed{Ready: metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionTrue, Reason: ReasonAPIServerReady,
		Message: "ok", LastTransitionTime: now}}
	if err := (ManagementWriter{Client: c}).WriteStatus(context.Background(), "c-1", o); err != nil {
		t.Fatal(err)
	}
	if patchErr != nil {
		t.Fatal(patchErr)
	}
	if gotSub != "status" || gotType != types.ApplyPatchType {
		t.Errorf("patch: got %s of %q, want %s of status", gotType, gotSub, types.ApplyPatchType)
	}
	if gotOpts.FieldManager != DefaultFieldOwner || gotOpts.Force == nil || !*gotOpts.Force {
		t.Errorf("options: got field manager %q force %v, want %q forced", gotOpts.FieldManager, gotOpts.Force, DefaultFieldOwner)
	}
	o.Ready.LastTransitionTime = then
	if want, _ := applyBody("c-1", o); string(gotBody) != string(want) {
		t.Errorf("body:\ngot  %s\nwant %s", gotBody, want)
	}

	if err := (ManagementWriter{Client: c}).WriteStatus(context.Background(), "c-gone", o); err == nil {
		t.Error("write for a missing cluster: got nil, want an error")
	}
}

// TestManagementWriterSkipsWhatIsStored: a write that would change
// nothing in the stored status (a heartbeat with lastSeen left to the
// server) sends no request; any difference, or a lastSeen to write, does.
func TestManagementWriterSkipsWhatIsStored(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	ready := metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionTrue, Reason: ReasonAPIServerReady, Message: "ok", LastTransitionTime: then}
	stored := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c-1"}, Status: v1.ClusterStatus{
		Conditions:        []metav1.Condition{ready, {Type: v1.ClusterConnected, Status: metav1.ConditionTrue, Reason: "AgentConnected", LastTransitionTime: then}},
		KubernetesVersion: "v1.37.2", NodeCount: 1, Nodes: []v1.ClusterNode{{Name: "n1"}},
		Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, LastSeen: &then}}
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).WithStatusSubresource(stored).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
			patches++
			return nil
		}}).Build()
	same := Observed{Ready: ready, KubernetesVersion: "v1.37.2", NodeCount: 1, Nodes: []v1.ClusterNode{{Name: "n1"}},
		Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2000m")}, LastSeen: then.Add(time.Minute)}
	same.Ready.LastTransitionTime = metav1.NewTime(then.Add(time.Hour)) // the stored time is kept
	omit := ManagementWriter{Client: c, OmitLastSeen: true}
	if err := omit.WriteStatus(context.Background(), "c-1", same); err != nil || patches != 0 {
		t.Errorf("unchanged status: %d patches (%v), want none", patches, err)
	}
	for name, change := range map[string]func(*Observed){
		"version":   func(o *Observed) { o.KubernetesVersion = "v1.38.0" },
		"nodes":     func(o *Observed) { o.Nodes = append(o.Nodes, v1.ClusterNode{Name: "n2"}) },
		"capacity":  func(o *Observed) { o.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")} },
		"not ready": func(o *Observed) { o.Ready.Status = metav1.ConditionFalse },
		"message":   func(o *Observed) { o.Ready.Message = "slow" },
	} {
		patches = 0
		o := same
		change(&o)
		if err := omit.WriteStatus(context.Background(), "c-1", o); err != nil || patches != 1 {
			t.Errorf("changed %s: %d patches (%v), want 1", name, patches, err)
		}
	}
	patches = 0
	if err := (ManagementWriter{Client: c}).WriteStatus(context.Background(), "c-1", same); err != nil || patches != 1 {
		t.Errorf("a new lastSeen: %d patches (%v), want 1", patches, err)
	}
}
