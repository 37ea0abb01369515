package importmanifest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/wellknown"
)

// workers is the number of kwok worker nodes besides the control-plane
// node; realNodes the number of real nodes (kubelet, containerd), which
// run Herd's image.
const (
	workers   = 2
	realNodes = 2
)

// clusters holds the one downstream cluster, "import", that the manifest is
// applied to.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	os.Exit(herdtest.RunWithClustersOf(m, &clusters, herdtest.ClusterOptions{Workers: workers, RealNodes: realNodes}, "import"))
}

// applier applies YAML with the real kubectl to the "import" cluster.
type applier struct {
	t *testing.T
	k herdtest.Kubectl
}

func (a applier) apply(yaml string, args ...string) {
	a.t.Helper()
	out, errOut, err := a.k.ExecStdin(yaml, append([]string{"apply", "-f", "-"}, args...)...)
	if err != nil {
		a.t.Fatalf("kubectl apply %v: %v\nstdout: %s\nstderr: %s", args, err, out, errOut)
	}
}

// wantAbsent fails unless every object (kubectl get arguments) is NotFound.
func (a applier) wantAbsent(objs ...string) {
	a.t.Helper()
	for _, o := range objs {
		args := append([]string{"-n", wellknown.Namespace, "get"}, strings.Fields(o)...)
		if _, errOut, err := a.k.Exec(args...); err == nil || !strings.Contains(errOut, "NotFound") {
			a.t.Errorf("%s exists after a dry run: err=%v stderr=%q", o, err, errOut)
		}
	}
}

// TestApply applies the manifest to a real cluster with the real kubectl:
// first server-side dry runs that must create nothing, then for real.
//
// A server-side dry run cannot create objects in a namespace that the same
// dry run "creates" (kubernetes/kubernetes#83562), so the dry run goes in
// two steps: the cluster-scoped objects while herd-system does not exist,
// then, once the Namespace alone is applied, the whole manifest.
func TestApply(t *testing.T) {
	a := applier{t: t, k: herdtest.Kubectl{Kubeconfig: clusters.Get("import").KubeconfigPath()}}
	docs, objs := render(t, validParams())
	var clusterScoped []string
	for i, o := range objs {
		if o.GetNamespace() == "" {
			clusterScoped = append(clusterScoped, docs[i])
		}
	}

	a.apply(strings.Join(clusterScoped, "\n---\n"), "--dry-run=server")
	a.wantAbsent("namespace herd-system", "clusterrole herd-agent", "clusterrolebinding herd-agent")

	a.apply(docs[0]) // the Namespaces
	a.apply(docs[1])
	a.apply(strings.Join(docs, "\n---\n"), "--dry-run=server")
	a.wantAbsent("serviceaccount herd-agent", "serviceaccount herd-node-agent", "clusterrole herd-agent",
		"clusterrolebinding herd-agent", "secret herd-credentials", "deployment herd-agent",
		"daemonset herd-node-agent", "serviceaccount herd-kube-api-auth",
		"role herd-kube-api-auth", "rolebinding herd-kube-api-auth", "daemonset herd-kube-api-auth")
	if t.Failed() {
		return
	}

	out, err := importmanifest.Render(validParams())
	if err != nil {
		t.Fatal(err)
	}
	a.apply(string(out))
	t.Run("agent", func(t *testing.T) { checkAgent(t, a.k) })
	t.Run("node agent", func(t *testing.T) { checkNodeAgent(t, a.k) })
	t.Run("kube-api-auth", func(t *testing.T) { checkKubeAPIAuth(t, a.k) })
}

// checkAgent checks that the agent's two pods run for real, from Herd's
// image, on the two real nodes (never on kwok's), and stay up while the
// server of validParams cannot be reached: alive, not ready, saying why.
func checkAgent(t *testing.T, k herdtest.Kubectl) {
	ns := []string{"-n", wellknown.Namespace}
	real := strings.Join(clusters.Get("import").RealNodeNames(), " ")
	var pods string
	herdtest.Eventually(t, "two agent pods running on the real nodes", 90*time.Second, func() error {
		pods = k.Run(t, append(ns, "get", "pods", "-l", "app=herd-agent", "-o",
			`jsonpath={range .items[*]}{.spec.nodeName},{.status.containerStatuses[0].state.running.startedAt},{.status.containerStatuses[0].ready}{" "}{end}`)...)
		f := strings.Fields(pods)
		if len(f) != 2 {
			return fmt.Errorf("agent pods: %q", pods)
		}
		var nodes []string
		for _, p := range f {
			parts := strings.Split(p, ",")
			if parts[1] == "" || parts[2] != "false" {
				return fmt.Errorf("agent pod %q: want running and not ready (no server)", p)
			}
			nodes = append(nodes, parts[0])
		}
		if nodes[0] == nodes[1] || !strings.Contains(real, nodes[0]) || !strings.Contains(real, nodes[1]) {
			return fmt.Errorf("agent pods run on %v, want the real nodes %s, one each", nodes, real)
		}
		return nil
	})
	herdtest.Eventually(t, "the agent's log saying why it is not ready", 30*time.Second, func() error {
		logs := k.Run(t, append(ns, "logs", "deployment/herd-agent")...)
		if !strings.Contains(logs, "cannot reach the server yet; retrying") || !strings.Contains(logs, "serving health probes") {
			return fmt.Errorf("agent log:\n%s", logs)
		}
		return nil
	})
}

// checkNodeAgent checks that the node agent DaemonSet runs a ready pod on
// every real node, and none on kwok's simulated nodes.
func checkNodeAgent(t *testing.T, k herdtest.Kubectl) {
	nodes := strings.Fields(k.Run(t, "get", "nodes", "-o", "name"))
	if len(nodes) != workers+1+realNodes {
		t.Fatalf("nodes: got %v, want %d", nodes, workers+1+realNodes)
	}
	ns := []string{"-n", wellknown.Namespace}
	// The DaemonSet's status counts the pods a moment after they are
	// ready: wait for the count, not for `rollout status`.
	want := fmt.Sprintf("%d/%d", realNodes, realNodes)
	herdtest.Eventually(t, "a ready node agent on every real node", 90*time.Second, func() error {
		got := k.Run(t, append(ns, "get", "daemonset", "herd-node-agent",
			"-o", "jsonpath={.status.desiredNumberScheduled}/{.status.numberReady}")...)
		if got != want {
			return fmt.Errorf("node agent desired/ready: got %s, want %s", got, want)
		}
		return nil
	})
	if on := k.Run(t, append(ns, "get", "pods", "-l", "app=herd-node-agent", "-o", "jsonpath={.items[*].spec.nodeName}")...); strings.Contains(on, "-node-") {
		t.Errorf("node agents on %q: want none on kwok nodes", on)
	}
}

// checkKubeAPIAuth checks that kube-api-auth goes only to real
// control-plane nodes (this cluster has none: its control plane runs
// beside the nodes, and its only control-plane node is simulated), and
// that its service account reads the token copies (Secrets in
// herd-tokens) and nothing else: not the agent's credentials in
// herd-system.
func checkKubeAPIAuth(t *testing.T, k herdtest.Kubectl) {
	ns := []string{"-n", wellknown.Namespace}
	if got := k.Run(t, append(ns, "get", "daemonset", "herd-kube-api-auth", "-o", "jsonpath={.status.desiredNumberScheduled}")...); got != "0" {
		t.Errorf("kube-api-auth is scheduled on %s nodes, want none (no real control-plane node)", got)
	}
	sa := "--as=system:serviceaccount:" + wellknown.Namespace + ":herd-kube-api-auth"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "secrets", "-n", wellknown.TokenCopiesNamespace}, "yes"},
		{[]string{"get", "secrets/herd-credentials", "-n", wellknown.Namespace}, "no"},
		{[]string{"list", "secrets", "-n", wellknown.Namespace}, "no"},
		{[]string{"get", "secrets", "-n", "default"}, "no"},
		{[]string{"list", "secrets", "--all-namespaces"}, "no"},
		{[]string{"get", "configmaps", "-n", wellknown.Namespace}, "no"},
		{[]string{"create", "secrets", "-n", wellknown.Namespace}, "no"},
	} {
		out, _, _ := k.Exec(append([]string{"auth", "can-i", sa}, tt.args...)...)
		if got := strings.TrimSpace(out); got != tt.want {
			t.Errorf("can-i %v: got %q, want %q", tt.args, got, tt.want)
		}
	}
}
