package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/store"
)

// nodeAgent is a `herd node-agent` process of one machine.
type nodeAgent struct {
	cmd  *exec.Cmd
	logs *herdtest.SyncBuffer
	done chan struct{}
}

func (n *nodeAgent) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// TestMachinePlans registers two machines with a cluster's registration
// token through real node agents, hands one a plan as the planner will
// (files, instructions, a process, a probe), kills its node agent in the
// middle of the plan and checks that it goes on where it stopped when it
// comes back; the other machine never sees that plan, and a failing plan
// is tried a bounded number of times with its output kept.
func TestMachinePlans(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), t.TempDir()
	})
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "farm"})
	if code != http.StatusCreated {
		t.Fatalf("create farm: %d %s", code, body)
	}
	t.Cleanup(func() { s.Do(t, "DELETE", "/v1/clusters/farm?force=true", admin, nil) })
	u := herdtest.ImportURL(t, body)
	regToken := strings.TrimSuffix(u[strings.Index(u, "/v1/import/")+len("/v1/import/"):], ".yaml")
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	mgmt := mgmtClient(t)

	start := func(root, host, addr, token string) *nodeAgent {
		return startNodeAgent(t, herd, s, token, root, "--roles", "etcd,control-plane", "--hostname", host, "--address", addr, "--poll", "200ms")
	}
	rootA, rootB := t.TempDir(), t.TempDir()
	a := start(rootA, "farm-a", "127.0.2.1", regToken)
	start(rootB, "farm-b", "127.0.2.2", regToken)
	machineA, machineB := waitMachine(t, mgmt, "farm-a"), waitMachine(t, mgmt, "farm-b")

	health := freeAddr(t, "127.0.2.1")
	plan := herdapi.Plan{
		Files: []herdapi.PlanFile{{Path: "etc/greeting", Content: []byte("hello")}},
		Instructions: []herdapi.PlanInstruction{
			{Name: "count", Command: "sh", Args: []string{"-c", "echo run >> runs.txt; cp etc/greeting copy.txt"}},
			{Name: "slow", Command: "sh", Args: []string{"-c", "touch slow-started; sleep 3; echo slow done"}},
		},
		Processes: []herdapi.PlanProcess{{Name: "health", Command: herd, Args: []string{"node-agent", "--health-addr", health}}},
		Probes:    []herdapi.PlanProbe{{Name: "health", URL: "http://" + health + "/readyz"}},
	}
	rev, err := machines.WritePlan(context.Background(), mgmt, machineA, plan)
	if err != nil {
		t.Fatal(err)
	}
	herdtest.Eventually(t, "the slow instruction started", 30*time.Second, func() error {
		_, err := os.Stat(filepath.Join(rootA, "slow-started"))
		return err
	})
	a.kill()                                    // in the middle of the plan
	a = start(rootA, "farm-a", "127.0.2.1", "") // no token: it keeps its credential
	st := waitPlan(t, mgmt, machineA.Name, rev, v1.PlanSucceeded, func(st v1.MachineStatus) bool { return st.Probes["health"] })
	if !strings.Contains(st.Output, "slow done") {
		t.Errorf("output %q, want the last instruction's", st.Output)
	}
	if runs, _ := os.ReadFile(filepath.Join(rootA, "runs.txt")); string(runs) != "run\n" {
		t.Errorf("the instruction done before the crash ran again: %q", runs)
	}
	if cp, _ := os.ReadFile(filepath.Join(rootA, "copy.txt")); string(cp) != "hello" {
		t.Errorf("the plan's file: %q", cp)
	}
	if fi, err := os.Stat(filepath.Join(rootA, "credential.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the machine credential file: %v %v, want mode 0600", err, fi)
	}

	// The plan's process ends with its node agent.
	a.kill()
	herdtest.Eventually(t, "the plan's process ended with its node agent", 10*time.Second, func() error {
		if left := herdtest.ProcessesMentioning(health); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	})

	// B's credential reads B's plan alone: none yet, not A's.
	credB := readCredential(t, rootB)
	if code, body := s.Do(t, "GET", "/v1/node/plan", credB, nil); code != http.StatusNoContent {
		t.Errorf("machine B reads a plan: %d %s, want 204 (A's plan is A's alone)", code, body)
	}
	if code, _ := s.Do(t, "GET", "/v1/node/plan", machineA.Name+":"+strings.SplitN(credB, ":", 2)[1], nil); code != http.StatusUnauthorized {
		t.Errorf("A's name with B's secret: %d, want 401", code)
	}

	// A failing plan: tried three times, then left Failed with its output.
	failing := herdapi.Plan{Instructions: []herdapi.PlanInstruction{{Name: "broken", Command: "sh", Args: []string{"-c", "echo tried >> tries.txt; echo nope; exit 1"}}}}
	revB, err := machines.WritePlan(context.Background(), mgmt, machineB, failing)
	if err != nil {
		t.Fatal(err)
	}
	st = waitPlan(t, mgmt, machineB.Name, revB, v1.PlanFailed, func(st v1.MachineStatus) bool { return st.Failures == 3 })
	if st.FailedInstruction != "broken" || !strings.Contains(st.Output, "nope") {
		t.Errorf("failed plan: instruction %q, output %q", st.FailedInstruction, st.Output)
	}
	time.Sleep(time.Second) // several polls: no fourth try
	if tries, _ := os.ReadFile(filepath.Join(rootB, "tries.txt")); strings.Count(string(tries), "tried") != 3 {
		t.Errorf("tries: %q, want 3", tries)
	}
}

// startNodeAgent runs `herd node-agent` for a machine of s's clusters
// (args after the server's), with HERD_TOKEN=token, until the test ends;
// then, if the test failed, it shows the agent's log and its processes'.
func startNodeAgent(t testing.TB, herd string, s *herdtest.Server, token, root string, args ...string) *nodeAgent {
	t.Helper()
	cmd := exec.Command(herd, append([]string{"node-agent", "--server", s.URL, "--ca-checksum", server.Checksum(s.CABundle()),
		"--root", root}, args...)...)
	cmd.Env = append(os.Environ(), "HERD_TOKEN="+token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n := &nodeAgent{cmd: cmd, logs: &herdtest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.kill()
		if !t.Failed() {
			return
		}
		t.Logf("node agent %v:\n%s", args, tail(n.logs.String(), 30))
		logs, _ := filepath.Glob(filepath.Join(root, "logs", "*.log"))
		for _, l := range logs {
			if data, err := os.ReadFile(l); err == nil {
				t.Logf("%s:\n%s", l, tail(string(data), 15))
			}
		}
	})
	return n
}

// mgmtClient is a client of the management cluster.
func mgmtClient(t *testing.T) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", clusters.Get("mgmt").KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitMachine waits for the Machine of hostname.
func waitMachine(t *testing.T, c client.Client, hostname string) *v1.Machine {
	t.Helper()
	var found *v1.Machine
	herdtest.Eventually(t, "machine "+hostname+" registered", 30*time.Second, func() error {
		var list v1.MachineList
		if err := c.List(context.Background(), &list); err != nil {
			return err
		}
		for i := range list.Items {
			if list.Items[i].Spec.Hostname == hostname {
				found = &list.Items[i]
				return nil
			}
		}
		return fmt.Errorf("no machine %s", hostname)
	})
	return found
}

// waitPlan waits until machine reports revision in state and ok holds.
func waitPlan(t *testing.T, c client.Client, machine, revision, state string, ok func(v1.MachineStatus) bool) v1.MachineStatus {
	t.Helper()
	var m v1.Machine
	herdtest.Eventually(t, "machine "+machine+" plan "+state, time.Minute, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Name: machine}, &m); err != nil {
			return err
		}
		if st := m.Status; st.AppliedRevision != revision || st.State != state || !ok(st) {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	return m.Status
}

func readCredential(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Credential string }
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c.Credential
}

// freeAddr is a free TCP address on host.
func freeAddr(t testing.TB, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestFallbackTunnel: the node agent of a control-plane machine holds its
// cluster's fallback tunnel; when the cluster agent is gone, kubectl
// through Herd still reaches the cluster through it. A worker machine's
// credential may not hold one.
func TestFallbackTunnel(t *testing.T) {
	e := newEnv(t, "east")
	herd := e.herd
	apiserver := strings.TrimPrefix(clusters.Get("east").ServerURL(), "https://")
	mgmt := mgmtClient(t)
	run := func(host, roles string) (*nodeAgent, string) {
		root := t.TempDir()
		n := startNodeAgent(t, herd, e.s, e.regTok, root, "--roles", roles, "--hostname", host, "--address", "127.0.0.1",
			"--apiserver", apiserver, "--poll", "1s")
		t.Cleanup(func() {
			n.kill()
			if m := waitMachine(t, mgmt, host); m != nil {
				_ = mgmt.Delete(context.Background(), m)
			}
		})
		return n, root
	}
	cp, _ := run("east-cp-1", "etcd,control-plane")
	_, workerRoot := run("east-worker-1", "worker")
	herdtest.Eventually(t, "the fallback tunnel up", 30*time.Second, func() error {
		if !strings.Contains(cp.logs.String(), "fallback tunnel up") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	waitMachine(t, mgmt, "east-worker-1")
	herdtest.Eventually(t, "the worker's credential", 10*time.Second, func() error {
		_, err := os.Stat(filepath.Join(workerRoot, "credential.json"))
		return err
	})
	if code, _ := e.s.Do(t, "GET", "/v1/node/connect", readCredential(t, workerRoot), nil); code != http.StatusUnauthorized {
		t.Errorf("a worker machine's node tunnel: %d, want 401", code)
	}

	e.stopAgent()
	e.waitConnected(t, "False")
	herdtest.Eventually(t, "the cluster says how it is reached", 10*time.Second, func() error {
		if c := cluster(t, e); !strings.Contains(c.Message, "fallback tunnel") {
			return fmt.Errorf("cluster: %+v", c)
		}
		return nil
	})
	k := e.kubectl(t, e.admin)
	herdtest.Eventually(t, "kubectl through the fallback tunnel", 20*time.Second, func() error {
		out, errOut, err := k.Exec("get", "namespace", "default", "-o", "name")
		if err != nil || out != "namespace/default\n" {
			return fmt.Errorf("%v %s %s", err, out, errOut)
		}
		return nil
	})
	cp.kill()
	herdtest.Eventually(t, "no way to the cluster without any agent", 20*time.Second, func() error {
		if _, _, err := k.Exec("get", "namespace", "default"); err == nil {
			return fmt.Errorf("kubectl still works")
		}
		return nil
	})
}

// TestProvisionCluster provisions a cluster: Herd makes it, its node
// agents run it. One machine runs etcd and the control plane, one is a
// worker; the planner plans etcd, then the control plane, then the worker
// and the cluster agent; the cluster connects, kubectl through Herd sees
// its node at the pinned version and a Deployment rolls out. Stopping the
// node agents stops everything the machines ran.
func TestProvisionCluster(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), t.TempDir()
	})
	e := &env{s: s, cluster: "made"}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "made", KubernetesVersion: "v1.0.0"})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "supported: "+previousVersion+", "+currentVersion) {
		t.Errorf("an unknown Kubernetes version: %d %s, want 422 naming the supported ones", code, body)
	}
	code, body = s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "made", KubernetesVersion: "v1.37.2"})
	if code != http.StatusCreated {
		t.Fatalf("create made: %d %s", code, body)
	}
	t.Cleanup(func() { s.Do(t, "DELETE", "/v1/clusters/made?force=true", e.admin, nil) })
	u := herdtest.ImportURL(t, body)
	regToken := strings.TrimSuffix(u[strings.Index(u, "/v1/import/")+len("/v1/import/"):], ".yaml")
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	roots := map[string]string{}
	start := func(host, roles, addr string, extra ...string) *nodeAgent {
		roots[host] = t.TempDir()
		return startNodeAgent(t, herd, s, regToken, roots[host], append([]string{"--roles", roles, "--hostname", host, "--address", addr, "--poll", "1s"}, extra...)...)
	}
	begin := time.Now()
	cp := start("made-cp-1", "etcd,control-plane", "127.0.4.1", "--apiserver", "127.0.4.1:6443")
	worker := start("made-worker-1", "worker", "127.0.4.2")
	herdtest.Eventually(t, "cluster made provisioned and connected", 3*time.Minute, func() error {
		c := cluster(t, e)
		if c.Connected != "True" || !strings.Contains(provisioned(t, e), "True") {
			return fmt.Errorf("connected %s, provisioned %s", c.Connected, provisioned(t, e))
		}
		return nil
	})
	t.Logf("from the first node agent's start to Provisioned and Connected: %s", time.Since(begin).Round(100*time.Millisecond))
	k := e.kubectl(t, e.admin)
	if out := k.Run(t, "get", "node", "made-worker-1", "-o", "jsonpath={.status.nodeInfo.kubeletVersion}"); out != "v1.37.2" {
		t.Errorf("worker node version: %q, want the cluster's v1.37.2", out)
	}
	herdtest.Eventually(t, "the worker node Ready", time.Minute, func() error {
		out, _, err := k.Exec("get", "node", "made-worker-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil || out != "True" {
			return fmt.Errorf("%v %q", err, out)
		}
		return nil
	})
	k.Run(t, "create", "deployment", "web", "--image=nginx", "--replicas=2")
	k.Run(t, "rollout", "status", "deployment/web", "--timeout=90s")
	if out := k.Run(t, "version", "-o", "json"); !strings.Contains(out, `"gitVersion": "v1.37.2"`) {
		t.Errorf("server version through Herd: %s", out)
	}
	t.Run("etcd snapshots", func(t *testing.T) { checkSnapshots(t, e, "made-cp-1", roots["made-cp-1"]) })

	// Deleting the cluster deletes its Machines: their node agents are
	// refused, stop what their plans run (etcd, the control plane, kwok,
	// the cluster agent) and end.
	if code, body := s.Do(t, "DELETE", "/v1/clusters/made?force=true", e.admin, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("delete made: %d %s", code, body)
	}
	for _, n := range []*nodeAgent{cp, worker} {
		select {
		case <-n.done:
		case <-time.After(time.Minute):
			t.Fatalf("a node agent still runs a minute after its cluster was deleted:\n%s", tail(n.logs.String(), 10))
		}
	}
	if !strings.Contains(cp.logs.String(), "Herd refuses machine") {
		t.Errorf("the node agent did not say why it ended:\n%s", tail(cp.logs.String(), 5))
	}
	herdtest.Eventually(t, "the machines' processes gone", 15*time.Second, func() error {
		for _, addr := range []string{"127.0.4.1", "127.0.4.2", "kubeconfigs/agent.kubeconfig"} {
			if left := herdtest.ProcessesMentioning(addr); len(left) > 0 {
				return fmt.Errorf("processes of %s: %v", addr, left)
			}
		}
		return nil
	})
}

// provisioned is the cluster's Provisioned condition, as the management
// cluster has it.
func provisioned(t testing.TB, e *env) string {
	t.Helper()
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	out, errOut, err := mgmt.Exec("get", "clusters.management.herd.dev", e.cluster, "-o",
		`jsonpath={.status.conditions[?(@.type=="Provisioned")].status} {.status.conditions[?(@.type=="Provisioned")].message}`)
	if err != nil {
		return fmt.Sprintf("(kubectl: %v %s)", err, errOut)
	}
	return out
}

// machineLogsOnFailure prints, if t fails, the state of e's machines and
// cluster and the end of each machine's node-agent and cluster-agent logs
// (under dir, the local driver's folder), before the machines go.
func machineLogsOnFailure(t *testing.T, e *env, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/machines", e.admin, nil)
		t.Logf("machines of %s: %s", e.cluster, body)
		mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		out, _, _ := mgmt.Exec("get", "clusters.management.herd.dev", e.cluster, "-o", "jsonpath={.status}")
		t.Logf("status of cluster %s: %s", e.cluster, out)
		logs, _ := filepath.Glob(filepath.Join(dir, e.cluster, "*", "node-agent.log"))
		agents, _ := filepath.Glob(filepath.Join(dir, e.cluster, "*", "root", "logs", "cluster-agent.log"))
		for _, f := range append(logs, agents...) {
			data, _ := os.ReadFile(f)
			rel, _ := filepath.Rel(dir, f)
			t.Logf("%s, its end:\n%s", rel, tail(string(data), 25))
		}
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestProvisionHA provisions three etcd and control-plane machines and a
// worker: the etcd members join one at a time, the first control plane
// runs the cluster agent. The last machine stopped (an etcd member and a
// control plane), the cluster still answers through Herd: etcd keeps its
// quorum.
func TestProvisionHA(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), t.TempDir()
	})
	e := &env{s: s, cluster: "trio"}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "trio", KubernetesVersion: "v1.37.2"})
	if code != http.StatusCreated {
		t.Fatalf("create trio: %d %s", code, body)
	}
	t.Cleanup(func() { s.Do(t, "DELETE", "/v1/clusters/trio?force=true", e.admin, nil) })
	u := herdtest.ImportURL(t, body)
	token := strings.TrimSuffix(u[strings.Index(u, "/v1/import/")+len("/v1/import/"):], ".yaml")
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	var cps []*nodeAgent
	for i := 1; i <= 3; i++ {
		addr := fmt.Sprintf("127.0.6.%d", i)
		cps = append(cps, startNodeAgent(t, herd, s, token, t.TempDir(), "--roles", "etcd,control-plane",
			"--hostname", fmt.Sprintf("trio-cp-%d", i), "--address", addr, "--apiserver", addr+":6443", "--poll", "1s"))
	}
	startNodeAgent(t, herd, s, token, t.TempDir(), "--roles", "worker", "--hostname", "trio-worker-1", "--address", "127.0.6.10", "--poll", "1s")
	herdtest.Eventually(t, "cluster trio provisioned and connected", 3*time.Minute, func() error {
		if c := cluster(t, e); c.Connected != "True" || !strings.HasPrefix(provisioned(t, e), "True") {
			return fmt.Errorf("connected %s, agents %d, provisioned %s", c.Connected, c.ConnectedAgents, provisioned(t, e))
		}
		return nil
	})
	k := e.kubectl(t, e.admin)
	create := func(name string) func() error {
		return func() error {
			_, errOut, err := k.Exec("create", "configmap", name, "--from-literal=a=1")
			if err != nil && !strings.Contains(errOut, "AlreadyExists") {
				return fmt.Errorf("%v %s", err, errOut)
			}
			return nil
		}
	}
	// The control planes restart once more as the last etcd member joins.
	herdtest.Eventually(t, "the cluster answers", time.Minute, create("before"))

	// An etcd member and control plane that does not run the cluster agent.
	victim := slices.IndexFunc(cps, func(n *nodeAgent) bool { return !strings.Contains(n.logs.String(), `"process":"cluster-agent"`) })
	if victim < 0 {
		t.Fatal("every machine runs a cluster agent")
	}
	cps[victim].kill()
	herdtest.Eventually(t, "the cluster answers with one machine down", time.Minute, create("after"))
	if out := k.Run(t, "get", "configmaps", "before", "after", "-o", "name"); out != "configmap/before\nconfigmap/after\n" {
		t.Errorf("configmaps: %q", out)
	}
}

// TestMachinePools lets Herd's local machine driver make a cluster's
// machines: a pool of three etcd and control-plane machines and a pool of
// one worker. The cluster comes up; the worker pool scaled to two gets a
// second node, scaled back to one drains and deletes it (the Deployment
// stays available) and stops its machine; the control-plane pool scaled to
// two removes the newest machine's etcd member, and the cluster answers.
// Deleting the cluster ends every machine: no process and no folder left.
func TestMachinePools(t *testing.T) {
	e := poolsEnv(t, "127.0.7", "fleet")
	s, machinesDir := e.s, filepath.Join(e.dataDir, "machines")
	for _, bad := range []struct {
		pools []herdapi.MachinePool
		want  string
	}{
		{[]herdapi.MachinePool{{Name: "cp", Quantity: 1, Roles: []string{"etcd", "master"}}}, "not one of etcd, control-plane, worker"},
		{[]herdapi.MachinePool{{Name: "cp", Quantity: 51, Roles: []string{"etcd"}}}, "between 0 and 50"},
		{[]herdapi.MachinePool{{Name: "cp", Quantity: 1, Roles: []string{"etcd"}}, {Name: "cp", Quantity: 1, Roles: []string{"worker"}}}, "listed twice"},
		{[]herdapi.MachinePool{{Name: "cp", Quantity: 1, Roles: []string{"etcd"}, Driver: "ec2"}}, "driver"},
	} {
		code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "fleet", KubernetesVersion: "v1.37.2", MachinePools: bad.pools})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), bad.want) {
			t.Errorf("pools %+v: %d %s, want 422 saying %q", bad.pools, code, body, bad.want)
		}
	}
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "fleet", KubernetesVersion: "v1.37.2",
		MachinePools: []herdapi.MachinePool{
			{Name: "cp", Quantity: 3, Roles: []string{"etcd", "control-plane"}},
			{Name: "workers", Quantity: 1, Roles: []string{"worker"}},
		}})
	if code != http.StatusCreated {
		t.Fatalf("create fleet: %d %s", code, body)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			s.Do(t, "DELETE", "/v1/clusters/fleet?force=true", e.admin, nil)
		}
	})
	machineLogsOnFailure(t, e, machinesDir)
	begin := time.Now()
	herdtest.Eventually(t, "cluster fleet provisioned and connected", 4*time.Minute, func() error {
		if c := cluster(t, e); c.Connected != "True" || !strings.HasPrefix(provisioned(t, e), "True") {
			return fmt.Errorf("connected %s, provisioned %s", c.Connected, provisioned(t, e))
		}
		return nil
	})
	t.Logf("from create with pools (3 control planes, 1 worker) to Provisioned and Connected: %s", time.Since(begin).Round(100*time.Millisecond))
	k := e.kubectl(t, e.admin)
	k.Run(t, "create", "deployment", "web", "--image=nginx", "--replicas=2")
	k.Run(t, "rollout", "status", "deployment/web", "--timeout=90s")

	// A restore with three etcd members: the first restores, the others
	// join it again.
	snap := saveSnapshot(t, e, "Succeeded")
	checkProvisioningMetrics(t, e, snap, 4)
	k.Run(t, "create", "configmap", "after-snapshot", "--from-literal=a=1")
	begin = time.Now()
	code, body = s.Do(t, "POST", "/v1/clusters/fleet/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: snap.Name})
	herdtest.Expect(t, "restore fleet", code, body, http.StatusCreated)
	var r herdapi.EtcdRestore
	if err := decode(body, &r); err != nil {
		t.Fatal(err)
	}
	waitRestore(t, e, r.Name)
	t.Logf("restore with 3 etcd members: %s", time.Since(begin).Round(100*time.Millisecond))
	herdtest.Eventually(t, "fleet answers from the snapshot on three etcd members", 2*time.Minute, func() error {
		out, errOut, err := k.Exec("get", "configmaps", "-o", "name")
		if err != nil || strings.Contains(out, "after-snapshot") {
			return fmt.Errorf("%v %s %s", err, errOut, out)
		}
		return nil
	})
	etcdMembers(t, e, 3)

	scale := func(pool string, n int32) {
		t.Helper()
		code, body := s.Do(t, "PUT", "/v1/clusters/fleet/machinepools/"+pool, e.admin, herdapi.MachinePool{Quantity: n})
		herdtest.Expect(t, "scale "+pool, code, body, http.StatusOK)
	}
	nodeReady := func(name string) func() error {
		return func() error {
			out, _, err := k.Exec("get", "node", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			if err != nil || out != "True" {
				return fmt.Errorf("node %s: %v %q", name, err, out)
			}
			return nil
		}
	}
	scale("workers", 2)
	herdtest.Eventually(t, "a second worker node", 2*time.Minute, nodeReady("fleet-workers-2"))
	addr := machineAddress(t, e, "fleet-workers-2")

	scale("workers", 1)
	herdtest.Eventually(t, "the second worker gone: node, machine, processes, folder", 2*time.Minute, func() error {
		if out, _, _ := k.Exec("get", "nodes", "-o", "name"); strings.Contains(out, "fleet-workers-2") {
			return fmt.Errorf("nodes: %s", out)
		}
		if left := herdtest.ProcessesMentioning(addr); len(left) > 0 {
			return fmt.Errorf("processes of %s: %v", addr, left)
		}
		if _, err := os.Stat(filepath.Join(machinesDir, "fleet", "fleet-workers-2")); !os.IsNotExist(err) {
			return fmt.Errorf("its folder: %v", err)
		}
		return nil
	})
	herdtest.Eventually(t, "the Deployment available again", time.Minute, func() error {
		if out := k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"); out != "2" {
			return fmt.Errorf("available replicas %q", out)
		}
		return nil
	})

	cp3 := machineAddress(t, e, "fleet-cp-3")
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	endpoint := mgmt.Run(t, "get", "clusters.management.herd.dev", "fleet", "-o", "jsonpath={.status.apiEndpoint}")
	scale("cp", 2)
	// The other control planes' kube-apiservers name every etcd member in
	// their flags: the removed machine is checked by what it served.
	herdtest.Eventually(t, "the third control plane gone: its etcd and kube-apiserver, node agent and folder", 2*time.Minute, func() error {
		for _, port := range []string{"2379", "2380", "6443"} {
			ln, err := net.Listen("tcp", net.JoinHostPort(cp3, port))
			if err != nil {
				return fmt.Errorf("%s:%s still served: %v", cp3, port, err)
			}
			_ = ln.Close()
		}
		dir := filepath.Join(machinesDir, "fleet", "fleet-cp-3")
		if left := herdtest.ProcessesMentioning(dir); len(left) > 0 {
			return fmt.Errorf("processes of %s: %v", dir, left)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("its folder: %v", err)
		}
		return nil
	})
	// Through Herd: when the cluster agent ran on the removed machine, it
	// must start again on another node first.
	begin = time.Now()
	herdtest.Eventually(t, "the cluster answers on two etcd members", 3*time.Minute, func() error {
		_, errOut, err := k.Exec("create", "configmap", "after-scale", "--from-literal=a=1")
		if err != nil && !strings.Contains(errOut, "AlreadyExists") {
			return fmt.Errorf("%v %s", err, errOut)
		}
		return nil
	})
	t.Logf("the cluster answers after the third control plane went (the cluster agent's endpoint was %s, the third one's address %s): %s",
		endpoint, cp3, time.Since(begin).Round(100*time.Millisecond))

	deleted = true
	if code, body := s.Do(t, "DELETE", "/v1/clusters/fleet?force=true", e.admin, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("delete fleet: %d %s", code, body)
	}
	herdtest.Eventually(t, "every machine of fleet gone", 2*time.Minute, func() error {
		if left := herdtest.ProcessesMentioning(machinesDir); len(left) > 0 {
			return fmt.Errorf("processes: %v", left)
		}
		if _, err := os.Stat(filepath.Join(machinesDir, "fleet")); !os.IsNotExist(err) {
			return fmt.Errorf("machines folder of fleet: %v", err)
		}
		return nil
	})
}

// poolsEnv starts a Herd server whose local machine driver makes
// machines on subnet (a.b.c of 127.0.0.0/8), for a cluster name, and logs
// in as admin. Machines would outlive the server (as VMs do) but for
// LocalStopWithServer, which ends them if this test process dies;
// whatever the test leaves running ends with it too.
func poolsEnv(t testing.TB, subnet, name string) *env {
	dataDir := t.TempDir()
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
		c.HerdBinary, c.MachineSubnet, c.LocalStopWithServer = herd, subnet, true
	})
	t.Cleanup(func() {
		for _, pid := range herdtest.ProcessesMentioning(filepath.Join(dataDir, "machines")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	e := &env{s: s, cluster: name, dataDir: dataDir}
	e.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	return e
}

// etcdMembers checks that e's cluster's etcd has n started members, as
// its first control plane's etcd client URL answers.
func etcdMembers(t *testing.T, e *env, n int) {
	t.Helper()
	herdtest.Eventually(t, fmt.Sprintf("%d etcd members started", n), 2*time.Minute, func() error {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + machineAddress(t, e, e.cluster+"-cp-1") + ":2379"}, DialTimeout: 5 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := c.MemberList(ctx)
		if err != nil {
			return err
		}
		started := 0
		for _, m := range list.Members {
			if m.Name != "" {
				started++
			}
		}
		if started != n || len(list.Members) != n {
			return fmt.Errorf("%d members, %d started", len(list.Members), started)
		}
		return nil
	})
}

// machineAddress is a machine's address, as Herd's API lists it.
func machineAddress(t *testing.T, e *env, hostname string) string {
	t.Helper()
	_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/machines", e.admin, nil)
	var list herdapi.MachineList
	if err := decode(body, &list); err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Items {
		if m.Hostname == hostname {
			return m.Address
		}
	}
	t.Fatalf("no machine %s in %s", hostname, body)
	return ""
}

// checkSnapshots saves two snapshots of e's cluster, which the node agent
// of its etcd machine (hostname, root) takes: each Succeeded with its size,
// SHA-256, version and machine, and the file there; deleting one removes
// its file; bad requests are refused.
func checkSnapshots(t *testing.T, e *env, hostname, root string) {
	save := func() string {
		code, body := e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/snapshots", e.admin, nil)
		herdtest.Expect(t, "save a snapshot", code, body, http.StatusCreated)
		var snap herdapi.EtcdSnapshot
		if err := decode(body, &snap); err != nil || snap.Phase != "Pending" {
			t.Fatalf("new snapshot %s: %v", body, err)
		}
		return snap.Name
	}
	list := func() map[string]herdapi.EtcdSnapshot {
		code, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/etcd/snapshots", e.admin, nil)
		herdtest.Expect(t, "list snapshots", code, body, http.StatusOK)
		var l herdapi.EtcdSnapshotList
		if err := decode(body, &l); err != nil {
			t.Fatal(err)
		}
		out := map[string]herdapi.EtcdSnapshot{}
		for _, s := range l.Items {
			out[s.Name] = s
		}
		return out
	}
	taken := func(name string) herdapi.EtcdSnapshot {
		var got herdapi.EtcdSnapshot
		herdtest.Eventually(t, "snapshot "+name+" taken", 2*time.Minute, func() error {
			got = list()[name]
			if got.Phase != "Succeeded" {
				return fmt.Errorf("%+v", got)
			}
			return nil
		})
		return got
	}
	first := save()
	one := taken(first)
	if one.Size < 10_000 || len(one.SHA256) != 64 || one.KubernetesVersion != "v1.37.2" || one.Machine != hostname || one.TakenAt == nil {
		t.Errorf("snapshot %+v: want a size, SHA-256, v1.37.2, machine %s and a time", one, hostname)
	}
	fi, err := os.Stat(filepath.Join(root, one.Location))
	if err != nil || fi.Size() != one.Size {
		t.Errorf("the snapshot's file %s: %v (size %v), want %d bytes", one.Location, err, fi, one.Size)
	}
	second := save()
	taken(second)
	code, body := e.s.Do(t, "DELETE", "/v1/clusters/"+e.cluster+"/etcd/snapshots/"+first, e.admin, nil)
	herdtest.Expect(t, "delete the first snapshot", code, body, http.StatusNoContent)
	herdtest.Eventually(t, "the first snapshot's file gone, the second's kept", time.Minute, func() error {
		if _, err := os.Stat(filepath.Join(root, one.Location)); !os.IsNotExist(err) {
			return fmt.Errorf("%s: %v", one.Location, err)
		}
		if _, err := os.Stat(filepath.Join(root, "snapshots", second+".db")); err != nil {
			return err
		}
		return nil
	})
	if got := list(); len(got) != 1 {
		t.Errorf("snapshots after the delete: %v", got)
	}
	if code, body := e.s.Do(t, "DELETE", "/v1/clusters/"+e.cluster+"/etcd/snapshots/nosuch", e.admin, nil); code != http.StatusNotFound {
		t.Errorf("delete an unknown snapshot: %d %s, want 404", code, body)
	}
	if code, body := e.s.Do(t, "POST", "/v1/clusters/east/etcd/snapshots", e.admin, nil); code != http.StatusUnprocessableEntity && code != http.StatusNotFound {
		t.Errorf("a snapshot of an imported cluster: %d %s, want 422", code, body)
	}
}

// checkProvisioningMetrics: /metrics counts the cluster's machines as done
// with their plans and its snapshot as its newest success.
func checkProvisioningMetrics(t *testing.T, e *env, snap herdapi.EtcdSnapshot, machines int) {
	t.Helper()
	herdtest.Eventually(t, "metrics of "+e.cluster+"'s machines and snapshot", 15*time.Second, func() error {
		m := herdtest.ScrapeMetrics(t, e.s, e.admin)
		if v, _ := m.Value("herd_machines", "cluster", e.cluster, "state", v1.PlanSucceeded); v != float64(machines) {
			return fmt.Errorf("herd_machines{state=Succeeded} is %v, want %d", v, machines)
		}
		if v, _ := m.Value("herd_etcd_snapshots", "cluster", e.cluster, "phase", v1.SnapshotSucceeded); v < 1 {
			return fmt.Errorf("herd_etcd_snapshots{phase=Succeeded} is %v", v)
		}
		last, _ := m.Value("herd_etcd_snapshot_last_success_timestamp_seconds", "cluster", e.cluster)
		if snap.TakenAt == nil || last < float64(snap.TakenAt.Unix()) {
			return fmt.Errorf("herd_etcd_snapshot_last_success_timestamp_seconds is %v, the snapshot was taken at %v", last, snap.TakenAt)
		}
		return nil
	})
}
