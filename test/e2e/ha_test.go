package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/tunnel"
)

// haReplica is one `herd server` process of a replicated Herd.
type haReplica struct {
	id, addr string
	cmd      *exec.Cmd
	logs     *herdtest.SyncBuffer
	dataDir  string
	mu       sync.Mutex
	ended    time.Time // when it was killed or stopped; zero while it runs
}

// startHAReplica runs `herd server` on the shared management cluster.
func startHAReplica(t *testing.T, herd, id, addr, serverURL string) *haReplica {
	t.Helper()
	return runHAReplica(t, herd, id, addr, serverURL, t.TempDir())
}

// runHAReplica runs `herd server` with a data dir until it is stopped or
// the test ends.
func runHAReplica(t testing.TB, herd, id, addr, serverURL, dataDir string, extra ...string) *haReplica {
	t.Helper()
	r := &haReplica{id: id, addr: addr, logs: &herdtest.SyncBuffer{}, dataDir: dataDir}
	args := []string{"server", "--kubeconfig", clusters.Get("mgmt").KubeconfigPath(), "--data-dir", r.dataDir,
		"--listen", addr, "--replica-id", id, "--server-url", serverURL}
	r.cmd = exec.Command(herd, append(args, extra...)...)
	r.cmd.Env = append(os.Environ(), "HERD_BOOTSTRAP_PASSWORD="+herdtest.BootstrapPassword)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stop(syscall.SIGKILL) })
	herdtest.LogOnFailure(t, "replica "+id, r.logs.String)
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	herdtest.Eventually(t, "replica "+id+" ready", 2*time.Minute, func() error {
		resp, err := insecure.Get("https://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	return r
}

// stop signals the replica and waits for it; SIGTERM stops it gracefully.
func (r *haReplica) stop(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended.IsZero() {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	_ = r.cmd.Wait()
	r.ended = time.Now()
}

func (r *haReplica) alive(at time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended.IsZero() || at.Before(r.ended)
}

func (r *haReplica) ca(t testing.TB) []byte {
	ca, err := os.ReadFile(filepath.Join(r.dataDir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// logEvents returns the replica's log lines with msg, as (time, attrs).
func (r *haReplica) logEvents(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// kubectl reaches a cluster through one replica, as admin.
func (r *haReplica) kubectl(t *testing.T, cluster, token string, ca []byte) herdtest.Kubectl {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://%s/k8s/clusters/%s
    certificate-authority-data: %s
    tls-server-name: localhost
users:
- name: u
  user:
    token: %s
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`, r.addr, cluster, base64.StdEncoding.EncodeToString(ca), token)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return herdtest.Kubectl{Kubeconfig: kc}
}

// TestReplicas runs three replicas behind a TCP load balancer with two
// imported clusters: kubectl through any replica reaches every cluster
// (peer links), killing the replica that holds a tunnel costs under 15 s,
// and while replicas come and go every cluster has one owner, whose
// controllers never run beside another's.
func TestReplicas(t *testing.T) {
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	lb := herdtest.StartLoadBalancer(t)
	serverURL := "https://" + lb.Addr
	replicas := map[string]*haReplica{}
	var order []*haReplica
	add := func(id string) *haReplica {
		r := startHAReplica(t, herd, id, freeAddr(t, "127.0.21."+id[len(id)-1:]), serverURL)
		replicas[id] = r
		order = append(order, r)
		var addrs []string
		for _, r := range order {
			if r.alive(time.Now()) {
				addrs = append(addrs, r.addr)
			}
		}
		lb.SetBackends(addrs...)
		return r
	}
	for _, id := range []string{"ha-1", "ha-2", "ha-3"} {
		add(id)
	}
	ca := replicas["ha-1"].ca(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	front := &herdtest.Server{URL: serverURL, Client: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	e := &env{s: front, herd: herd}
	e.admin = front.Login(t, "admin", herdtest.BootstrapPassword)
	names := []string{"east", "west"}
	started := time.Now().Add(-time.Second)
	for _, name := range names {
		regTok, agentKC := e.importCluster(t, name)
		cmd := exec.Command(herd, "agent", "--server", serverURL, "--ca-checksum", server.Checksum(ca), "--kubeconfig", agentKC)
		cmd.Env = append(os.Environ(), "HERD_TOKEN="+regTok)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	for _, name := range names {
		e.waitAgentSince(t, name, started)
	}

	// Any replica reaches every cluster, whichever holds its tunnel.
	reach := func(r *haReplica, cluster string) error {
		_, errOut, err := r.kubectl(t, cluster, e.admin, ca).Exec("get", "namespace", "kube-system", "-o", "name", "--request-timeout=5s")
		if err != nil {
			return fmt.Errorf("kubectl through %s to %s: %v: %s", r.id, cluster, err, errOut)
		}
		return nil
	}
	for _, r := range order {
		for _, name := range names {
			herdtest.Eventually(t, r.id+" reaches "+name, 15*time.Second, func() error { return reach(r, name) })
		}
	}

	checkOwnerMetrics(t, order, names, e.admin, pool)
	checkAgentCount(t, order, pool)

	sampler := startOwnerSampler(t, names)
	time.Sleep(5 * time.Second) // settle

	// Kill the replica holding east's tunnel: the agent reconnects through
	// the balancer and every other replica reaches east again.
	holder := tunnelHolder(t, order, "east")
	holder.stop(syscall.SIGKILL)
	killed := time.Now()
	var rest []string
	for _, r := range order {
		if r.alive(time.Now()) {
			rest = append(rest, r.addr)
		}
	}
	lb.SetBackends(rest...)
	for _, r := range order {
		if !r.alive(time.Now()) {
			continue
		}
		herdtest.Eventually(t, r.id+" reaches east after "+holder.id+" was killed", 15*time.Second-time.Since(killed),
			func() error { return reach(r, "east") })
	}
	t.Logf("kubectl through every other replica reached east %v after the replica holding its tunnel (%s) was killed",
		time.Since(killed).Round(time.Millisecond), holder.id)

	// A replica joins, another leaves gracefully (handing its clusters
	// over), then the owner of west dies.
	add("ha-4")
	time.Sleep(8 * time.Second)
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	owner := func(cluster string) string {
		return mgmt.Run(t, "get", "clusters.management.herd.dev", cluster, "-o", "jsonpath={.status.owner}")
	}
	for _, r := range order {
		if r.alive(time.Now()) && r.id != "ha-4" && r.id != owner("west") {
			r.stop(syscall.SIGTERM)
			break
		}
	}
	time.Sleep(8 * time.Second)
	if r := replicas[owner("west")]; r != nil && r.alive(time.Now()) {
		r.stop(syscall.SIGKILL)
		t.Logf("killed %s, the owner of west", r.id)
	} else {
		t.Errorf("west has no running owner to kill: %q", owner("west"))
	}
	time.Sleep(8 * time.Second)
	samples := sampler.stop()
	checkOwners(t, samples, replicas, names, killed)
	checkNeverTwo(t, order, names)
	for _, r := range order {
		if !r.alive(time.Now()) {
			continue
		}
		for _, name := range names {
			if err := reach(r, name); err != nil {
				t.Errorf("at the end: %v", err)
			}
		}
	}
}

// tunnelHolder is the replica whose log says it holds the cluster's
// agent tunnel last.
func tunnelHolder(t *testing.T, replicas []*haReplica, cluster string) *haReplica {
	t.Helper()
	var holder *haReplica
	var last string
	for _, r := range replicas {
		if !r.alive(time.Now()) {
			continue
		}
		for _, ev := range r.logEvents("agent connected") {
			if c, _ := ev["cluster"].(string); strings.HasPrefix(c, cluster+"/") {
				if ts, _ := ev["time"].(string); ts > last {
					holder, last = r, ts
				}
			}
		}
	}
	if holder == nil {
		t.Fatalf("no replica logged the agent of %s connecting", cluster)
	}
	return holder
}

// checkOwnerMetrics: every replica's /metrics names the owner the Cluster
// names and a peer link up to each other replica, and of each cluster's
// one agent exactly one replica counts the tunnel.
func checkOwnerMetrics(t *testing.T, order []*haReplica, names []string, admin string, pool *x509.CertPool) {
	t.Helper()
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	herdtest.Eventually(t, "every replica's metrics agree on owners and tunnels", 15*time.Second, func() error {
		sessions := map[string]float64{}
		for _, r := range order {
			s := &herdtest.Server{URL: "https://" + r.addr, Client: &http.Client{Timeout: time.Minute,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}}
			m := herdtest.ScrapeMetrics(t, s, admin)
			for _, peer := range order {
				if v, _ := m.Value("herd_peer_link_up", "peer", peer.id); peer != r && v != 1 {
					return fmt.Errorf("%s: herd_peer_link_up of %s is %v", r.id, peer.id, v)
				}
			}
			for _, name := range names {
				owner := mgmt.Run(t, "get", "clusters.management.herd.dev", name, "-o", "jsonpath={.status.owner}")
				if v, ok := m.Value("herd_cluster_owner", "cluster", name, "replica", owner); owner == "" || !ok || v != 1 {
					return fmt.Errorf("%s: herd_cluster_owner of %s with replica %q: %v %v", r.id, name, owner, v, ok)
				}
				if v, _ := m.Value("herd_cluster_connected", "cluster", name); v != 1 {
					return fmt.Errorf("%s: herd_cluster_connected of %s is %v", r.id, name, v)
				}
				n, _ := m.Value("herd_tunnel_sessions", "cluster", name)
				sessions[name] += n
			}
			if r.id == mgmt.Run(t, "get", "clusters.management.herd.dev", names[0], "-o", "jsonpath={.status.owner}") {
				if n, _ := m.Value("herd_clusters_owned"); n < 1 {
					return fmt.Errorf("%s owns %s but herd_clusters_owned is %v", r.id, names[0], n)
				}
			}
		}
		for _, name := range names {
			if sessions[name] != 1 {
				return fmt.Errorf("%s: the replicas count %v tunnel sessions, want its agent's 1", name, sessions[name])
			}
		}
		return nil
	})
}

// checkAgentCount: the agents of one cluster on two replicas are counted
// together in connectedAgents, whichever replica wrote last, and the
// cluster stays Connected while either is there.
func checkAgentCount(t *testing.T, order []*haReplica, pool *x509.CertPool) {
	t.Helper()
	mgmt := benchClient(t)
	token := registerLabeledClusters(t, mgmt, "ha-count", "ha-count-", 1)[0]
	name := "ha-count-00000"
	var stops []context.CancelFunc
	var agents sync.WaitGroup
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		agents.Wait()
	})
	for _, r := range order[:2] {
		a, err := tunnel.NewAgent(tunnel.AgentConfig{URL: "wss://" + r.addr + "/v1/connect",
			Header:    http.Header{"Authorization": {"Bearer " + token}},
			TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
			Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		stops = append(stops, stop)
		agents.Go(func() { _ = a.Run(ctx) })
	}
	want := func(agents int32, connected metav1.ConditionStatus) {
		t.Helper()
		herdtest.Eventually(t, fmt.Sprintf("%s counts %d agents, Connected %s", name, agents, connected), 15*time.Second, func() error {
			var c v1.Cluster
			if err := mgmt.Get(context.Background(), client.ObjectKey{Name: name}, &c); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(c.Status.Conditions, v1.ClusterConnected)
			if c.Status.ConnectedAgents != agents || cond == nil || cond.Status != connected {
				return fmt.Errorf("connectedAgents %d, Connected %v", c.Status.ConnectedAgents, cond)
			}
			return nil
		})
	}
	want(2, metav1.ConditionTrue)
	stops[0]()
	want(1, metav1.ConditionTrue)
	stops[1]()
	want(0, metav1.ConditionFalse)
}
