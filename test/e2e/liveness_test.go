package e2e

import (
	"fmt"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestAgentLostWithItsReplica runs a second replica beside the one the
// agent dials and stops the first: the agent cannot reach any replica, and
// the second replica shows the cluster not Connected within 30 s.
func TestAgentLostWithItsReplica(t *testing.T) {
	e := newEnv(t, "east")
	other := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), t.TempDir()
	})
	admin := other.Login(t, "admin", herdtest.BootstrapPassword)
	connected := func() string {
		_, body := other.Do(t, "GET", "/v1/clusters/east", admin, nil)
		var c herdapi.Cluster
		_ = decode(body, &c)
		return c.Connected
	}
	if got := connected(); got != "True" {
		t.Fatalf("east as the other replica sees it: Connected %s, want True", got)
	}
	e.s.Stop()
	took := herdtest.Eventually(t, "east not Connected", 30*time.Second, func() error {
		if got := connected(); got != "False" {
			return fmt.Errorf("Connected %s", got)
		}
		return nil
	})
	t.Logf("the other replica showed the lost agent after %s", took)
}
