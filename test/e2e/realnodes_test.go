package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/wellknown"
)

// TestImportOnRealNodes imports a cluster the way a user does, and
// nothing else: a cluster with two real nodes (kubelet, containerd, runc),
// the first of them its control-plane node, gets the import manifest
// applied with kubectl, and Herd's image does the rest. The two agent pods
// start from the image, read their in-cluster service account, register
// and connect; the Cluster shows both; kubectl through Herd reaches the
// cluster; an agent pod going away leaves the cluster connected through
// the other, and its replacement joins again. kube-api-auth runs on the
// control-plane node, and the authorized endpoint works through it.
func TestImportOnRealNodes(t *testing.T) {
	lc, err := localcluster.New(localcluster.Config{Name: "north", Dir: filepath.Join(t.TempDir(), "north"),
		Nodes: localcluster.DefaultNodes("north", 1), RealNodes: 2, ControlPlaneNode: true, Images: []string{herdtest.ImageArchive(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Stop)
	if err := lc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
	})
	e := &env{s: s, cluster: "north", dataDir: dataDir}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "north"})
	if code == http.StatusConflict {
		code, body = s.Do(t, "POST", "/v1/clusters/north/import", e.admin, nil)
	}
	if code != http.StatusCreated {
		t.Fatalf("import north: %d %s", code, body)
	}
	// The management cluster outlives this test (and this run of it):
	// north's next import has a new kube-apiserver CA, which Herd refuses
	// for a cluster it knows by another (ErrOtherCluster).
	deleted := false
	deleteNorth := func() {
		deleted = true
		code, body := e.s.Do(t, "DELETE", "/v1/clusters/north?force=true", e.admin, nil)
		if code != http.StatusNoContent && code != http.StatusAccepted {
			t.Errorf("delete north: %d %s", code, body)
		}
	}
	// A server restarted by checkAuthorizedEndpoint stops before this
	// cleanup runs: the test's last step deletes north, this only after a
	// failure.
	t.Cleanup(func() {
		if !deleted {
			deleteNorth()
		}
	})
	manifest, err := exec.Command("curl", "-fsSk", "--max-time", "30", herdtest.ImportURL(t, body)).Output()
	if err != nil {
		t.Fatalf("fetch the import manifest: %v", err)
	}
	down := herdtest.Kubectl{Kubeconfig: lc.KubeconfigPath()}
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _ := down.Exec("-n", wellknown.Namespace, "get", "pods", "-o", "wide")
			logs, _, _ := down.Exec("-n", wellknown.Namespace, "logs", "-l", "app=herd-agent", "--tail=20", "--prefix")
			t.Logf("herd-system pods:\n%s\nagent logs:\n%s", out, logs)
		}
	})
	applied := time.Now()
	if _, errOut, err := down.ExecStdin(string(manifest), "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the import manifest: %v\n%s", err, errOut)
	}
	waitAgents(t, e, 2, 2*time.Minute)
	t.Logf("from kubectl apply of the import manifest to Connected with 2 agents: %s", time.Since(applied).Round(100*time.Millisecond))

	through := e.kubectl(t, e.admin)
	nodes := through.Run(t, "get", "nodes", "-o", "name")
	for _, n := range lc.RealNodeNames() {
		if !strings.Contains(nodes, "node/"+n) {
			t.Errorf("nodes through Herd: %q, want %s", nodes, n)
		}
	}
	agents := strings.Fields(down.Run(t, "-n", wellknown.Namespace, "get", "pods", "-l", "app=herd-agent", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(agents) != 2 {
		t.Fatalf("agent pods: %v", agents)
	}

	// One agent goes away: the cluster stays connected through the other
	// all along, kubectl through Herd keeps working, and the Deployment's
	// new pod connects as the second agent again.
	down.Run(t, "-n", wellknown.Namespace, "delete", "pod", agents[0], "--wait=false")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c := cluster(t, e)
		if c.Connected != "True" {
			t.Fatalf("cluster north went %s while one agent replaced the other: %+v", c.Connected, c)
		}
		if c.ConnectedAgents == 2 && !strings.Contains(podNames(t, down), agents[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted agent's replacement did not connect: %+v, pods %s", c, podNames(t, down))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := through.Run(t, "get", "namespace", wellknown.Namespace, "-o", "name"); out != "namespace/"+wellknown.Namespace+"\n" {
		t.Errorf("kubectl through Herd after an agent was replaced: %q", out)
	}

	checkFallbackTunnel(t, e, down, through)

	cp := lc.RealNodeNames()[0]
	herdtest.Eventually(t, "kube-api-auth ready on the control-plane node "+cp, 90*time.Second, func() error {
		got := down.Run(t, "-n", wellknown.Namespace, "get", "pods", "-l", "app=herd-kube-api-auth", "-o",
			`jsonpath={range .items[*]}{.spec.nodeName},{.status.containerStatuses[0].ready}{" "}{end}`)
		if strings.TrimSpace(got) != cp+",true" {
			return fmt.Errorf("kube-api-auth pods (node,ready): %q, want one ready on %s", got, cp)
		}
		return nil
	})
	checkAuthorizedEndpoint(t, e)
	// checkAuthorizedEndpoint restarted the server: both agents are back,
	// and the Cluster counts the second one too.
	waitAgents(t, e, 2, 30*time.Second)
	deleteNorth()
}

// cluster reads e's cluster from Herd's API.
func cluster(t testing.TB, e *env) herdapi.Cluster {
	t.Helper()
	_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster, e.admin, nil)
	var c herdapi.Cluster
	if err := decode(body, &c); err != nil {
		t.Fatalf("cluster %s: %s", e.cluster, body)
	}
	return c
}

// waitAgents waits until e's cluster is Connected with n agents.
func waitAgents(t *testing.T, e *env, n int32, timeout time.Duration) {
	t.Helper()
	herdtest.Eventually(t, fmt.Sprintf("cluster %s connected with %d agents", e.cluster, n), timeout, func() error {
		if c := cluster(t, e); c.Connected != "True" || c.ConnectedAgents != n {
			return fmt.Errorf("connected %s, agents %d", c.Connected, c.ConnectedAgents)
		}
		return nil
	})
}

func podNames(t *testing.T, down herdtest.Kubectl) string {
	return down.Run(t, "-n", wellknown.Namespace, "get", "pods", "-l", "app=herd-agent", "-o", "jsonpath={.items[*].metadata.name}")
}

// checkFallbackTunnel: the node agents hold the cluster's fallback tunnel
// with the token the cluster agent stored for them; with every agent pod
// gone, kubectl through Herd still reaches the cluster through them (with
// the long-lived token the agents registered), and the agents come back.
func checkFallbackTunnel(t *testing.T, e *env, down, through herdtest.Kubectl) {
	ns := []string{"-n", wellknown.Namespace}
	herdtest.Eventually(t, "every node agent's fallback tunnel up", 3*time.Minute, func() error {
		logs, _, _ := down.Exec(append(ns, "logs", "-l", "app=herd-node-agent", "--tail=-1", "--prefix")...)
		if n := strings.Count(logs, "fallback tunnel up"); n < 2 {
			return fmt.Errorf("%d tunnels up; node agent logs:\n%s", n, tail(logs, 6))
		}
		return nil
	})
	if out, _, _ := down.Exec(append(ns, "get", "secret", "herd-node-credentials", "-o", "jsonpath={.data.token}")...); out == "" {
		t.Fatal("no node agents' token stored")
	}
	down.Run(t, append(ns, "scale", "deployment", "herd-agent", "--replicas=0")...)
	herdtest.Eventually(t, "kubectl through Herd with no agent pod, through the node agents", 2*time.Minute, func() error {
		// Connected stays False (no cluster agent), saying why it still works.
		if c := cluster(t, e); c.ConnectedAgents != 0 || !strings.Contains(c.Message, "node agent's fallback tunnel") {
			return fmt.Errorf("connected %s with %d agents: %s", c.Connected, c.ConnectedAgents, c.Message)
		}
		out, errOut, err := through.Exec("get", "namespace", wellknown.Namespace, "-o", "name")
		if err != nil || out != "namespace/"+wellknown.Namespace+"\n" {
			return fmt.Errorf("%v %q %s", err, out, errOut)
		}
		return nil
	})
	down.Run(t, append(ns, "scale", "deployment", "herd-agent", "--replicas=2")...)
	waitAgents(t, e, 2, 2*time.Minute)
}
