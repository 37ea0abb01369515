// Package e2e holds end-to-end tests: a Herd server, local clusters
// registered through their import manifests, real agents, and the real
// kubectl through Herd's proxy.
package e2e

import (
	"os"
	"testing"

	"herd.dev/herd/internal/herdtest"
)

// clusters: "mgmt" holds the server's state; "east" and "west" are
// downstream clusters.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	os.Exit(herdtest.RunWithClusters(m, &clusters, 1, "mgmt", "east", "west"))
}
