package clusterstatus

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

// resources is a ResourceList of cpu, memory and pods.
func resources(cpu, memory, pods string) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   resource.MustParse(pods),
	}
}

func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}
}

func testNode(name string, ready bool, labels map[string]string) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{
			Capacity:    resources("4", "8Gi", "110"),
			Allocatable: resources("3900m", "7Gi", "110"),
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeReady, Status: status},
			},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2"},
			Images:   []corev1.ContainerImage{{Names: []string{"registry.k8s.io/pause:3.10"}, SizeBytes: 1 << 20}},
		},
	}
}

// testPod is a pod on node (unscheduled if empty) in phase with one
// container requesting cpu and memory.
func testPod(name, node string, phase corev1.PodPhase, cpu, memory string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
			{Name: "app", Image: "app:1", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}, Resources: requests(cpu, memory)}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func TestSummarize(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	withInit := testPod("init", "n1", corev1.PodRunning, "100m", "100Mi")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "setup", Resources: requests("1", "50Mi")}}
	withSidecar := testPod("sidecar", "n1", corev1.PodRunning, "100m", "100Mi")
	withSidecar.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always, Resources: requests("50m", "20Mi")}}
	withOverhead := testPod("overhead", "n1", corev1.PodRunning, "100m", "100Mi")
	withOverhead.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}

	tests := []struct {
		name          string
		nodes         []*corev1.Node
		pods          []*corev1.Pod
		wantNodes     []v1.ClusterNode
		wantCapacity  corev1.ResourceList
		wantAlloc     corev1.ResourceList
		wantRequested corev1.ResourceList
	}{
		{
			name:          "empty cluster",
			wantNodes:     []v1.ClusterNode{},
			wantCapacity:  resources("0", "0", "0"),
			wantAlloc:     resources("0", "0", "0"),
			wantRequested: resources("0", "0", "0"),
		},
		{
			name: "nodes sorted with roles and readiness",
			nodes: []*corev1.Node{
				testNode("worker-b", false, map[string]string{"node-role.kubernetes.io/worker": ""}),
				testNode("cp", true, map[string]string{
					"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true",
					"kubernetes.io/hostname": "cp", "node-role.kubernetes.io/": ""}),
				testNode("worker-a", true, nil),
			},
			wantNodes: []v1.ClusterNode{
				{Name: "cp", Roles: []string{"control-plane", "etcd"}, KubeletVersion: "v1.37.2", Ready: true},
				{Name: "worker-a", KubeletVersion: "v1.37.2", Ready: true},
				{Name: "worker-b", Roles: []string{"worker"}, KubeletVersion: "v1.37.2", Ready: false},
			},
			wantCapacity:  resources("12", "24Gi", "330"),
			wantAlloc:     resources("11700m", "21Gi", "330"),
			wantRequested: resources("0", "0", "0"),
		},
		{
			name:  "terminated and unscheduled pods excluded",
			nodes: []*corev1.Node{testNode("n1", true, nil)},
			pods: []*corev1.Pod{
				testPod("running", "n1", corev1.PodRunning, "250m", "128Mi"),
				testPod("starting", "n1", corev1.PodPending, "250m", "128Mi"),
				testPod("unknown", "n1", corev1.PodUnknown, "500m", "256Mi"),
				testPod("done", "n1", corev1.PodSucceeded, "1", "1Gi"),
				testPod("crashed", "n1", corev1.PodFailed, "1", "1Gi"),
				testPod("unscheduled", "", corev1.PodPending, "1", "1Gi"),
			},
			wantNodes:     []v1.ClusterNode{{Name: "n1", KubeletVersion: "v1.37.2", Ready: true}},
			wantCapacity:  resources("4", "8Gi", "110"),
			wantAlloc:     resources("3900m", "7Gi", "110"),
			wantRequested: resources("1", "512Mi", "3"),
		},
		{
			name:  "init containers, sidecars and overhead",
			nodes: []*corev1.Node{testNode("n1", true, nil)},
			// init: max(100m, 1) cpu and max(100Mi, 50Mi) memory;
			// sidecar: 100m+50m and 100Mi+20Mi; overhead: 110m and 101Mi.
			pods:          []*corev1.Pod{withInit, withSidecar, withOverhead},
			wantNodes:     []v1.ClusterNode{{Name: "n1", KubeletVersion: "v1.37.2", Ready: true}},
			wantCapacity:  resources("4", "8Gi", "110"),
			wantAlloc:     resources("3900m", "7Gi", "110"),
			wantRequested: resources("1260m", "321Mi", "3"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.nodes, tt.pods)
			if !reflect.DeepEqual(got.Nodes, tt.wantNodes) {
				t.Errorf("nodes: got %+v, want %+v", got.Nodes, tt.wantNodes)
			}
			if got.NodeCount != int32(len(tt.nodes)) {
				t.Errorf("node count: got %d, want %d", got.NodeCount, len(tt.nodes))
			}
			for _, r := range []struct {
				name      string
				got, want corev1.ResourceList
			}{{"capacity", got.Capacity, tt.wantCapacity}, {"allocatable", got.Allocatable, tt.wantAlloc}, {"requested", got.Requested, tt.wantRequested}} {
				if !equality.Semantic.DeepEqual(r.got, r.want) {
					t.Errorf("%s: got %v, want %v", r.name, r.got, r.want)
				}
			}

			// The informers' transform keeps everything summarize reads.
			var nodes []*corev1.Node
			for _, n := range tt.nodes {
				nodes = append(nodes, stripNode(stripNode(n)))
			}
			var pods []*corev1.Pod
			for _, p := range tt.pods {
				pods = append(pods, stripPod(stripPod(p)))
			}
			if stripped := summarize(nodes, pods); !stripped.sameAs(got) {
				t.Errorf("summary of stripped objects: got %+v, want %+v", stripped, got)
			}
		})
	}
}

func TestStrip(t *testing.T) {
	pod := stripPod(testPod("p", "n1", corev1.PodRunning, "1", "1Gi"))
	if len(pod.Labels) != 0 || pod.Spec.Containers[0].Image != "" || len(pod.Spec.Containers[0].Env) != 0 {
		t.Errorf("stripped pod keeps more than the requests: %+v", pod)
	}
	node := stripNode(testNode("n", true, map[string]string{"kubernetes.io/hostname": "n", "node-role.kubernetes.io/worker": ""}))
	if want := map[string]string{"node-role.kubernetes.io/worker": ""}; !reflect.DeepEqual(node.Labels, want) {
		t.Errorf("stripped node labels: got %v, want %v", node.Labels, want)
	}
	if len(node.Status.Images) != 0 || len(node.Status.Conditions) != 1 {
		t.Errorf("stripped node keeps images or other conditions: %+v", node.Status)
	}
}

// BenchmarkSummarize is the flush loop's computation for a large cluster.
func BenchmarkSummarize(b *testing.B) {
	var nodes []*corev1.Node
	for i := range 100 {
		nodes = append(nodes, stripNode(testNode(fmt.Sprintf("n%03d", i), true, nil)))
	}
	var pods []*corev1.Pod
	for i := range 5000 {
		pods = append(pods, stripPod(testPod(fmt.Sprintf("p%04d", i), nodes[i%100].Name, corev1.PodRunning, "100m", "64Mi")))
	}
	b.ReportAllocs()
	for b.Loop() {
		summarize(nodes, pods)
	}
}
