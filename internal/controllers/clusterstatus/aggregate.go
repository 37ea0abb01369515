package clusterstatus

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"

	v1 "herd.dev/herd/api/v1"
)

// nodeRolePrefix starts the labels that name a node's roles, as in
// node-role.kubernetes.io/control-plane.
const nodeRolePrefix = "node-role.kubernetes.io/"

// summedResources are the resources that the status sums.
var summedResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods}

// summarize computes the node list and the capacity, allocatable and
// requested sums of the cluster. Only the inventory fields of the result
// are set. The lists always hold cpu, memory and pods, zero if nothing
// counts, so that an empty cluster shows 0 rather than nothing.
//
// Requested counts pods that are scheduled (spec.nodeName set) and not
// terminated (Succeeded or Failed), with the effective request the
// scheduler uses: the larger of the regular containers' sum and each init
// container (sidecars included), plus pod overhead; its "pods" is the
// number of such pods.
func summarize(nodes []*corev1.Node, pods []*corev1.Pod) Observed {
	o := Observed{
		Nodes:       make([]v1.ClusterNode, 0, len(nodes)),
		NodeCount:   int32(len(nodes)),
		Capacity:    zeroResources(),
		Allocatable: zeroResources(),
		Requested:   zeroResources(),
	}
	for _, n := range nodes {
		o.Nodes = append(o.Nodes, v1.ClusterNode{
			Name:           n.Name,
			Roles:          nodeRoles(n.Labels),
			KubeletVersion: n.Status.NodeInfo.KubeletVersion,
			Ready:          nodeReady(n),
		})
		addResources(o.Capacity, n.Status.Capacity)
		addResources(o.Allocatable, n.Status.Allocatable)
	}
	slices.SortFunc(o.Nodes, func(a, b v1.ClusterNode) int { return strings.Compare(a.Name, b.Name) })

	var counted int64
	reuse := corev1.ResourceList{}
	for _, p := range pods {
		if !counts(p) {
			continue
		}
		counted++
		if simple(p) {
			for _, c := range p.Spec.Containers {
				addResources(o.Requested, c.Resources.Requests)
			}
			continue
		}
		addResources(o.Requested, resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{Reuse: reuse}))
	}
	o.Requested[corev1.ResourcePods] = *resource.NewQuantity(counted, resource.DecimalSI)
	return o
}

// counts reports whether p's requests hold resources on a node.
func counts(p *corev1.Pod) bool {
	if p.Spec.NodeName == "" {
		return false
	}
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// simple reports whether p's effective request is the sum of its
// containers' requests, so that summarize can skip PodRequests and its
// allocations for the common pod.
func simple(p *corev1.Pod) bool {
	return len(p.Spec.InitContainers) == 0 && p.Spec.Overhead == nil && p.Spec.Resources == nil
}

func zeroResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(0, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(0, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(0, resource.DecimalSI),
	}
}

// addResources adds the summed resources of add to sum.
func addResources(sum, add corev1.ResourceList) {
	for _, name := range summedResources {
		q, ok := add[name]
		if !ok {
			continue
		}
		s := sum[name]
		s.Add(q)
		sum[name] = s
	}
}

// nodeRoles returns the sorted roles named by node-role.kubernetes.io/<role>
// labels, nil if there are none.
func nodeRoles(labels map[string]string) []string {
	var roles []string
	for k := range labels {
		if role, ok := strings.CutPrefix(k, nodeRolePrefix); ok && role != "" {
			roles = append(roles, role)
		}
	}
	slices.Sort(roles)
	return roles
}

// nodeReady reports whether n's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
