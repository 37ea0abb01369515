// Package e2e holds end-to-end tests: a Herd server, local clusters
// registered through their import manifests, real agents, and the real
// kubectl through Herd's proxy.
package e2e

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"herd.dev/herd/internal/herdtest"
)

// clusters: "mgmt" holds the server's state; "east" and "west" are
// downstream clusters.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	// The tests' controller-runtime clients log nothing worth reading.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(herdtest.RunWithClusters(m, &clusters, 1, "mgmt", "east", "west"))
}
