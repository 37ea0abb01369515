package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// testClusterStatus checks what the cluster controller reports of west,
// through the API, kubectl on the management cluster and herdctl.
func (e *rbacEnv) testClusterStatus(t *testing.T) {
	nodes := strings.Fields(e.down.Run(t, "get", "nodes", "-o", "name"))
	var c herdapi.Cluster
	herdtest.Eventually(t, "west's status", 20*time.Second, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/west", e.admin, nil)
		c = herdapi.Cluster{}
		if err := decode(body, &c); err != nil {
			return err
		}
		if c.Ready != "True" || c.Version == "" || int(c.NodeCount) != len(nodes) || len(c.Nodes) != len(nodes) ||
			c.Allocatable["cpu"] == "" || c.Requested["pods"] == "" || c.LastSeen == nil {
			return fmt.Errorf("status: %s", body)
		}
		return nil
	})
	if !strings.HasPrefix(c.Version, "v1.37") {
		t.Errorf("version %q, want v1.37.x", c.Version)
	}
	for _, n := range c.Nodes {
		if !n.Ready || n.KubeletVersion == "" {
			t.Errorf("node %+v, want ready with a kubelet version", n)
		}
	}
	table := e.mgmt.Run(t, "get", "clusters.management.herd.dev", "west", "-o", "wide")
	for _, want := range []string{"CONNECTED", "READY", "VERSION", "NODES", "CPU", "True", c.Version} {
		if !strings.Contains(table, want) {
			t.Errorf("kubectl get clusters lacks %q:\n%s", want, table)
		}
	}
	// herdctl shows it too.
	run := newHerdctl(t).run
	run(herdtest.BootstrapPassword+"\n", "login", e.s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", checksum(e.env))
	list := run("", "clusters", "list")
	if !strings.Contains(list, "west") || !strings.Contains(list, c.Version) {
		t.Errorf("herdctl clusters list:\n%s", list)
	}
	get := run("", "clusters", "get", "west")
	for _, n := range nodes {
		if name := strings.TrimPrefix(n, "node/"); !strings.Contains(get, name) {
			t.Errorf("herdctl clusters get lacks node %s:\n%s", name, get)
		}
	}
	members := run("", "members", "list", "--project", "apps")
	if !strings.Contains(members, "cm-reader") || !strings.Contains(members, "rita") {
		t.Errorf("herdctl members list:\n%s", members)
	}
	t.Logf("herdctl clusters get west:\n%s", get)
}
