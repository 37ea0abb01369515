package server_test

import (
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
	if spec := os.Getenv(loginLoadEnv); spec != "" { // a child of BenchmarkConcurrentLogins
		os.Exit(loginLoad(spec))
	}
	os.Exit(herdtest.RunWithClusters(m, &clusters, 1, "mgmt", "downstream"))
}

// onMgmt runs a server on the shared management cluster.
func onMgmt(t testing.TB, mod func(*server.Config)) *herdtest.Server {
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
