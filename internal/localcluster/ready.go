package localcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kwokNodeAnnotation marks the nodes that this cluster's kwok manages.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

func newAdminClient(c *Cluster) (kubernetes.Interface, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// poll calls check every interval until it returns nil, a component fails,
// or ctx ends; the error then says what was still missing.
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-c.failed:
			return c.Err()
		case <-ctx.Done():
			return fmt.Errorf("%s: gave up after %s: %w (logs in %s/logs)", what, c.cfg.StartTimeout, last, c.cfg.Dir)
		case <-t.C:
		}
	}
}

func (c *Cluster) waitAPIServer(ctx context.Context, client kubernetes.Interface) error {
	return c.poll(ctx, "waiting for kube-apiserver /readyz", func(ctx context.Context) error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%v %s", err, body)
		}
		return nil
	})
}

// waitUsable waits for what a user of a fresh cluster relies on.
func (c *Cluster) waitUsable(ctx context.Context, client kubernetes.Interface) error {
	checks := []struct {
		what  string
		check func(context.Context) error
	}{
		{"waiting for nodes to be Ready (kwok)", func(ctx context.Context) error { return nodesReady(ctx, client, c.nodeNames()) }},
		{"waiting for real nodes to be Ready (kubelet)", func(ctx context.Context) error { return nodesReady(ctx, client, c.RealNodeNames()) }},
		{"waiting for the default service account (kube-controller-manager)", func(ctx context.Context) error {
			_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err
		}},
		{"waiting for the kube-scheduler lease", func(ctx context.Context) error { return leaseHeld(ctx, client, "kube-scheduler") }},
		{"waiting for the kube-controller-manager lease", func(ctx context.Context) error { return leaseHeld(ctx, client, "kube-controller-manager") }},
	}
	for _, ch := range checks {
		if err := c.poll(ctx, ch.what, ch.check); err != nil {
			return err
		}
	}
	return nil
}

func leaseHeld(ctx context.Context, client kubernetes.Interface, name string) error {
	var l *coordinationv1.Lease
	l, err := client.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return errors.New("lease " + name + " has no holder")
	}
	return nil
}

func (c *Cluster) nodeNames() []string {
	names := make([]string, 0, len(c.cfg.Nodes))
	for _, n := range c.cfg.Nodes {
		names = append(names, n.Name)
	}
	return names
}

func nodesReady(ctx context.Context, client kubernetes.Interface, names []string) error {
	for _, name := range names {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return fmt.Errorf("node %s is not Ready: %s", name, notReadyReason(n))
		}
	}
	return nil
}

// registerNodes creates the fake nodes that do not exist yet.
func registerNodes(ctx context.Context, client kubernetes.Interface, nodes []NodeSpec) error {
	for _, spec := range nodes {
		n := nodeObject(spec)
		_, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to register node %s: %w", spec.Name, err)
		}
	}
	return nil
}

func nodeObject(spec NodeSpec) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname": spec.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	for _, r := range spec.Roles {
		labels["node-role.kubernetes.io/"+r] = ""
	}
	maps.Copy(labels, spec.Labels)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(or(spec.CPU, "8")),
		corev1.ResourceMemory: resource.MustParse(or(spec.Memory, "32Gi")),
		corev1.ResourcePods:   resource.MustParse(or(spec.Pods, "110")),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        spec.Name,
			Labels:      labels,
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
		},
		// kwok keeps a kubelet version the node has; else it reports its own
		// ("kwok-v0.8.0"), which means nothing to version checks.
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: KubernetesVersion}},
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// notReadyReason is the message of a node's Ready condition.
func notReadyReason(n *corev1.Node) string {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Message
		}
	}
	return "no Ready condition yet"
}
