package server_test

import (
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// TestLeaderElection runs two replicas on one management cluster: both
// serve, exactly one runs the controllers, and the other takes over when
// the leader stops.
func TestLeaderElection(t *testing.T) {
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	a := onMgmt(t, nil)
	waitFor(t, "replica a to lead", 20*time.Second, a.IsLeader)
	roleRV := mgmt.Run(t, "get", "globalroles.management.herd.dev", "admin", "-o", "jsonpath={.metadata.resourceVersion}")
	holder := mgmt.Run(t, "-n", "herd-system", "get", "lease", "herd-server", "-o", "jsonpath={.spec.holderIdentity}")

	b := onMgmt(t, nil)
	time.Sleep(4 * time.Second) // more than a lease duration
	if !a.IsLeader() || b.IsLeader() {
		t.Fatalf("leaders: a=%v b=%v, want a only", a.IsLeader(), b.IsLeader())
	}
	if got := mgmt.Run(t, "-n", "herd-system", "get", "lease", "herd-server", "-o", "jsonpath={.spec.holderIdentity}"); got != holder {
		t.Errorf("the lease moved from %s to %s while its holder ran", holder, got)
	}
	if got := mgmt.Run(t, "get", "globalroles.management.herd.dev", "admin", "-o", "jsonpath={.metadata.resourceVersion}"); got != roleRV {
		t.Errorf("the second replica rewrote the built-in roles (resourceVersion %s -> %s)", roleRV, got)
	}
	tok := b.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := a.Do(t, "GET", "/v1/me", tok, nil)
	herdtest.Expect(t, "a token from one replica on the other", code, body, 200)

	a.Stop()
	waitFor(t, "replica b to take over", 20*time.Second, b.IsLeader)
	if got := mgmt.Run(t, "-n", "herd-system", "get", "lease", "herd-server", "-o", "jsonpath={.spec.holderIdentity}"); got == holder {
		t.Errorf("the lease still names the stopped replica %s", holder)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}
