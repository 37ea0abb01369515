// Package chart tests Herd's Helm chart (deploy/chart/herd) with Helm
// itself, through its Go module: lint, rendering, a server-side dry run
// against a real kube-apiserver, and an install whose Herd server runs as
// a real pod (kubelet, containerd, runc) from Herd's image, which a user
// then logs in to with the bootstrap password.
package chart

import (
	"os"
	"testing"

	"herd.dev/herd/internal/herdtest"
)

// clusters: "mgmt", a local cluster with one real node that has Herd's
// image, becomes the management cluster of the installed Herd.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	os.Exit(herdtest.RunWithClustersOf(m, &clusters, herdtest.ClusterOptions{RealNodes: 1}, "mgmt"))
}
