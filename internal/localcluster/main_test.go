package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"herd.dev/herd/internal/herdtest"
)

// clusters are the two clusters that run side by side for this package.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	clusters, err = herdtest.StartClusters(context.Background(), 2, "alpha", "beta")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer clusters.Stop()
	return m.Run()
}
