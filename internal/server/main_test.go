package server_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// clusters are shared by the package's tests: "mgmt" is a management
// cluster for servers started with --kubeconfig, "downstream" a cluster to
// import.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cs, err := herdtest.StartClusters(ctx, 1, "mgmt", "downstream")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "failed to start local clusters:", err)
		os.Exit(1)
	}
	clusters = cs
	code := m.Run()
	cs.Stop()
	os.Exit(code)
}

// onMgmt runs a server on the shared management cluster.
func onMgmt(t *testing.T, mod func(*server.Config)) *herdtest.Server {
	t.Helper()
	return herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath()
		c.LoginFailureLimit = 3
		c.LoginFailureWindow = 3 * time.Second
		if mod != nil {
			mod(c)
		}
	})
}
