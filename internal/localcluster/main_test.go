package localcluster_test

import (
	"os"
	"testing"

	"herd.dev/herd/internal/herdtest"
)

// clusters are the two clusters that run side by side for this package.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) { os.Exit(herdtest.RunWithClusters(m, &clusters, 2, "alpha", "beta")) }
