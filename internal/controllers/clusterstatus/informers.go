package clusterstatus

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// podSelector asks the apiserver only for pods whose requests count: those
// that are scheduled and not terminated. A pod that stops matching (it
// finishes) arrives as a delete. summarize filters again, so a client that
// ignores field selectors (the fake clientset) gives the same sums.
var podSelector = fields.AndSelectors(
	fields.OneTermNotEqualSelector("spec.nodeName", ""),
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
).String()

// newInformers returns an informer factory on kube with node and pod
// informers that store stripped objects and call changed on every change
// that can move the status. The caller starts the factory.
func newInformers(kube kubernetes.Interface, changed func()) (informers.SharedInformerFactory, cache.Store, cache.Store, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTransform(strip))
	nodes := factory.Core().V1().Nodes().Informer()
	pods := factory.InformerFor(&corev1.Pod{}, func(kube kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		// No namespace index: the controller only ever lists everything.
		return coreinformers.NewFilteredPodInformer(kube, metav1.NamespaceAll, resync, cache.Indexers{},
			func(o *metav1.ListOptions) { o.FieldSelector = podSelector })
	})
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		UpdateFunc: func(old, cur any) {
			if relevantUpdate(old, cur) {
				changed()
			}
		},
		DeleteFunc: func(any) { changed() },
	}
	for name, inf := range map[string]cache.SharedIndexInformer{"nodes": nodes, "pods": pods} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, nil, nil, fmt.Errorf("failed to watch %s: %w", name, err)
		}
	}
	return factory, nodes.GetStore(), pods.GetStore(), nil
}

// strip is the informers' transform: it keeps only what summarize reads,
// plus the identity and resourceVersion that the informer itself needs.
// It is idempotent. Other objects (tombstones) pass unchanged.
func strip(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return stripPod(o), nil
	case *corev1.Node:
		return stripNode(o), nil
	}
	return obj, nil
}

func stripMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
}

func stripPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: stripMeta(p.ObjectMeta),
		Spec:       corev1.PodSpec{NodeName: p.Spec.NodeName, Overhead: p.Spec.Overhead},
		Status:     corev1.PodStatus{Phase: p.Status.Phase},
	}
	if r := p.Spec.Resources; r != nil && len(r.Requests) > 0 {
		out.Spec.Resources = &corev1.ResourceRequirements{Requests: r.Requests}
	}
	for _, c := range p.Spec.Containers {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{
			Resources: corev1.ResourceRequirements{Requests: c.Resources.Requests}})
	}
	for _, c := range p.Spec.InitContainers {
		// RestartPolicy Always marks a sidecar, whose requests add up.
		out.Spec.InitContainers = append(out.Spec.InitContainers, corev1.Container{
			Resources: corev1.ResourceRequirements{Requests: c.Resources.Requests}, RestartPolicy: c.RestartPolicy})
	}
	return out
}

func stripNode(n *corev1.Node) *corev1.Node {
	out := &corev1.Node{ObjectMeta: stripMeta(n.ObjectMeta)}
	for k, v := range n.Labels {
		if strings.HasPrefix(k, nodeRolePrefix) {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
		}
	}
	out.Status.Capacity = pick(n.Status.Capacity)
	out.Status.Allocatable = pick(n.Status.Allocatable)
	out.Status.NodeInfo.KubeletVersion = n.Status.NodeInfo.KubeletVersion
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return out
}

// pick returns the summed resources of l.
func pick(l corev1.ResourceList) corev1.ResourceList {
	var out corev1.ResourceList
	for _, name := range summedResources {
		if q, ok := l[name]; ok {
			if out == nil {
				out = corev1.ResourceList{}
			}
			out[name] = q
		}
	}
	return out
}

// relevantUpdate reports whether an update of stripped objects changes
// anything that summarize reads: everything but the metadata. Node status
// updates that only move heartbeat times end here.
func relevantUpdate(old, cur any) bool {
	switch o := old.(type) {
	case *corev1.Pod:
		c, ok := cur.(*corev1.Pod)
		return !ok || !equality.Semantic.DeepEqual(o.Spec, c.Spec) || o.Status.Phase != c.Status.Phase
	case *corev1.Node:
		c, ok := cur.(*corev1.Node)
		return !ok || !equality.Semantic.DeepEqual(o.Labels, c.Labels) || !equality.Semantic.DeepEqual(o.Status, c.Status)
	}
	return true
}
