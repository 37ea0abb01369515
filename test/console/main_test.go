// Package console tests Herd's web console in a real headless Chromium
// (Debian's chromium, driven over the DevTools protocol with chromedp)
// against a Herd server on a real management cluster, with a second real
// cluster to import from the console.
package console

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"herd.dev/herd/internal/herdtest"
)

// clusters: "mgmt" holds the server's state; "east" is imported before
// the browser starts, "west" from the console.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(herdtest.RunWithClusters(m, &clusters, 1, "mgmt", "east", "west"))
}
