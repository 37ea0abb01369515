package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestHostedCluster: the local hosted provider makes a cluster (herd
// local-cluster, with a real node) and Herd imports it by itself: its
// agents start from Herd's image, connect, and kubectl through Herd
// reaches it. Deleting the Cluster deletes the provider's cluster: no
// process, link or folder of it is left.
func TestHostedCluster(t *testing.T) {
	dataDir := t.TempDir()
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
		c.HerdBinary, c.LocalStopWithServer, c.HostedImageArchive = herd, true, herdtest.ImageArchive(t)
	})
	hostedDir := filepath.Join(dataDir, "hosted")
	t.Cleanup(func() {
		for _, pid := range herdtest.ProcessesMentioning(hostedDir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	e := &env{s: s, cluster: "south", dataDir: dataDir}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	for _, bad := range []struct {
		req  herdapi.ClusterCreateRequest
		want string
	}{
		{herdapi.ClusterCreateRequest{Name: "south", Hosted: &herdapi.HostedCluster{Provider: "eks"}}, "unknown; the one there is: local"},
		{herdapi.ClusterCreateRequest{Name: "south", Hosted: &herdapi.HostedCluster{Provider: "local", KubernetesVersion: "v1.20.0"}}, "supported: v1.37.2"},
		{herdapi.ClusterCreateRequest{Name: "south", Hosted: &herdapi.HostedCluster{Provider: "local", RealNodes: 9}}, "between 1 and 8"},
		{herdapi.ClusterCreateRequest{Name: "south", KubernetesVersion: "v1.37.2", Hosted: &herdapi.HostedCluster{Provider: "local"}}, "not both"},
	} {
		if code, body := s.Do(t, "POST", "/v1/clusters", e.admin, bad.req); code != http.StatusUnprocessableEntity || !strings.Contains(string(body), bad.want) {
			t.Errorf("%+v: %d %s, want 422 saying %q", bad.req.Hosted, code, body, bad.want)
		}
	}
	begin := time.Now()
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "south",
		Hosted: &herdapi.HostedCluster{Provider: "local", Nodes: 2, RealNodes: 1}})
	if code != http.StatusCreated {
		t.Fatalf("create south: %d %s", code, body)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			e.s.Do(t, "DELETE", "/v1/clusters/south?force=true", e.admin, nil)
		}
	})
	herdtest.Eventually(t, "south made, imported and connected", 4*time.Minute, func() error {
		if c := cluster(t, e); c.Connected != "True" || !strings.HasPrefix(provisioned(t, e), "True") {
			return fmt.Errorf("connected %s, provisioned %s", c.Connected, provisioned(t, e))
		}
		return nil
	})
	t.Logf("from create to a hosted cluster imported and connected: %s", time.Since(begin).Round(100*time.Millisecond))
	nodes := e.kubectl(t, e.admin).Run(t, "get", "nodes", "-o", "name")
	for _, want := range []string{"node/south-node-0", "node/south-node-1", "node/south-real-0"} {
		if !strings.Contains(nodes, want) {
			t.Errorf("nodes through Herd: %q, want %s", nodes, want)
		}
	}

	deleted = true
	code, body = s.Do(t, "DELETE", "/v1/clusters/south", e.admin, nil)
	if code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("delete south: %d %s", code, body)
	}
	herdtest.Eventually(t, "south and its hosted cluster gone", 2*time.Minute, func() error {
		if code, _ := s.Do(t, "GET", "/v1/clusters/south", e.admin, nil); code != http.StatusNotFound {
			return fmt.Errorf("cluster south: %d", code)
		}
		if left := herdtest.ProcessesMentioning(hostedDir); len(left) > 0 {
			return fmt.Errorf("processes: %v", left)
		}
		if _, err := os.Stat(filepath.Join(hostedDir, "south")); !os.IsNotExist(err) {
			return fmt.Errorf("the hosted cluster's folder: %v", err)
		}
		return nil
	})
}
