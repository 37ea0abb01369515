package localcluster_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1
`

func kubectlFor(c *localcluster.Cluster) herdtest.Kubectl {
	return herdtest.Kubectl{Kubeconfig: c.KubeconfigPath()}
}

// TestWorkloads runs the same workload checks on both clusters at once.
func TestWorkloads(t *testing.T) {
	for _, c := range clusters.All() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			k := kubectlFor(c)
			// kwok nodes report the cluster's Kubernetes version, not kwok's.
			versions := k.Run(t, "get", "nodes", "-l", "type=kwok", "-o", `jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion}{" "}{end}`)
			if f := strings.Fields(versions); len(f) == 0 || slices.ContainsFunc(f, func(v string) bool { return v != localcluster.KubernetesVersion }) {
				t.Errorf("kwok nodes' kubelet versions %q, want %s each", versions, localcluster.KubernetesVersion)
			}
			ns := "workloads"
			k.Run(t, "create", "namespace", ns)
			if _, errOut, err := k.ExecStdin(fmt.Sprintf(deployment, ns), "apply", "-f", "-"); err != nil {
				t.Fatalf("apply: %v: %s", err, errOut)
			}
			k.Run(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
			if got := k.Run(t, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}/{.status.replicas}"); got != "3/3" {
				t.Fatalf("ready replicas: got %q, want 3/3", got)
			}
			pods := strings.Fields(k.Run(t, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"))
			if len(pods) != 3 {
				t.Fatalf("pods: got %v, want 3", pods)
			}
			nodes := k.Run(t, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}")
			if !strings.Contains(nodes, c.Name()+"-node-") {
				t.Errorf("pods scheduled on %q, want this cluster's kwok nodes", nodes)
			}

			t.Run("logs", func(t *testing.T) {
				if got := k.Run(t, "-n", ns, "logs", pods[0]); !strings.Contains(got, "container started on a kwok node") {
					t.Errorf("kubectl logs: got %q, want the kwok log line", got)
				}
			})
			for _, ws := range []string{"true", "false"} {
				t.Run("exec websockets="+ws, func(t *testing.T) {
					k := k
					k.Env = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + ws}
					if got := k.Run(t, "-n", ns, "exec", pods[1], "--", "echo", "hi"); got != "hi\n" {
						t.Errorf("kubectl exec echo hi: got %q, want %q", got, "hi\n")
					}
				})
			}
			t.Run("namespace delete", func(t *testing.T) {
				k.Run(t, "delete", "namespace", ns, "--wait=true", "--timeout=90s")
				_, errOut, err := k.Exec("get", "namespace", ns)
				if err == nil || !strings.Contains(errOut, "NotFound") {
					t.Errorf("namespace %s still there after delete: err=%v stderr=%q", ns, err, errOut)
				}
			})
		})
	}
}

// TestClustersAreSeparate checks that the two clusters share nothing.
func TestClustersAreSeparate(t *testing.T) {
	a, b := clusters.Get("alpha"), clusters.Get("beta")
	if a.ServerURL() == b.ServerURL() {
		t.Fatalf("both clusters serve at %s", a.ServerURL())
	}
	ka, kb := kubectlFor(a), kubectlFor(b)
	ka.Run(t, "create", "configmap", "only-in-alpha")
	t.Cleanup(func() { ka.Run(t, "delete", "configmap", "only-in-alpha") })
	if _, _, err := kb.Exec("get", "configmap", "only-in-alpha"); err == nil {
		t.Error("configmap created in alpha is visible in beta")
	}
	nodes := kb.Run(t, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}")
	if got, want := nodes, "beta-node-0 beta-node-1 beta-node-2"; got != want {
		t.Errorf("beta nodes: got %q, want %q", got, want)
	}
	roles := kb.Run(t, "get", "node", "beta-node-0", "-o", `jsonpath={.metadata.labels.node-role\.kubernetes\.io/control-plane}{.status.capacity.cpu}`)
	if roles != "8" {
		t.Errorf("beta-node-0: got control-plane label+cpu %q, want the label and capacity 8", roles)
	}
}
