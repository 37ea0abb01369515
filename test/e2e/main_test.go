// Package e2e holds end-to-end tests: a Herd server, local clusters
// registered through their import manifests, real agents, and the real
// kubectl through Herd's proxy.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// clusters: "mgmt" holds the server's state; "east" and "west" are
// downstream clusters.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cs, err := herdtest.StartClusters(ctx, 1, "mgmt", "east", "west")
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
