package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTwoClusters imports a second cluster next to the first: both work
// through one server, a token scoped to one is refused by the other, and
// one cluster's registration token cannot take the other over.
func TestTwoClusters(t *testing.T) {
	e := newEnv(t, "east")
	westTok, westKC := e.importCluster(t, "west")
	started := time.Now().Add(-time.Second)
	west, _ := e.agentProcess(t, westTok, westKC)
	t.Cleanup(func() { _ = west.Process.Kill(); _ = west.Wait() })
	e.waitAgentSince(t, "west", started)

	westK := e.kubectlFor(t, "west", e.admin)
	if nodes := westK.Run(t, "get", "nodes", "-o", "name"); strings.Count(nodes, "node/") != 2 {
		t.Errorf("west nodes: %q", nodes)
	}
	e.kubectl(t, e.admin).Run(t, "get", "nodes")

	code, body := e.s.Do(t, "POST", "/v1/tokens", e.admin, map[string]any{"kind": "kubeconfig", "clusterName": "east"})
	if code != 201 {
		t.Fatalf("east token: %d %s", code, body)
	}
	var created struct{ Token string }
	_ = decode(body, &created)
	if code := rawGet(t, e, created.Token, "/api", nil, "east"); code != 200 {
		t.Errorf("east token on east: got %d, want 200", code)
	}
	if code := rawGet(t, e, created.Token, "/api", nil, "west"); code != 401 {
		t.Errorf("east token on west: got %d, want 401", code)
	}

	// east's registration token, replayed by an agent of west, is refused.
	replay, logs := e.agentProcess(t, e.regTok, westKC)
	done := make(chan error, 1)
	go func() { done <- replay.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(logs.String(), "another kube-apiserver CA") {
			t.Errorf("replayed registration: exit %v, output:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = replay.Process.Kill()
		t.Fatalf("the agent with a replayed registration token kept running:\n%s", logs.String())
	}
	e.kubectl(t, e.admin).Run(t, "get", "nodes") // east still reaches east

	// An agent given the wrong CA checksum refuses the server and exits.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wrong := exec.CommandContext(ctx, e.herd, "agent", "--server", e.s.URL, "--ca-checksum", strings.Repeat("0", 64), "--kubeconfig", westKC)
	wrong.Env = append(os.Environ(), "HERD_TOKEN="+westTok)
	if out, err := wrong.CombinedOutput(); err == nil || ctx.Err() != nil || !strings.Contains(string(out), "checksum") {
		t.Errorf("agent with a wrong CA checksum: %v (%v)\n%s", err, ctx.Err(), out)
	}

	// Oversized headers are refused before anything else.
	if code := rawGet(t, e, e.admin, "/api", map[string]string{"X-Big": strings.Repeat("a", 100<<10)}); code != 431 {
		t.Errorf("100 KiB of headers: got %d, want 431", code)
	}
}
