package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// BenchmarkProvision provisions a cluster of one etcd and control-plane
// machine and one worker (as TestProvisionCluster) and reports the time
// from the node agents' start to Provisioned and Connected, and 20 s
// later the resident memory of each machine's processes by role (its node
// agent and what its plan runs), and the CPU of this test process while
// the cluster idles: the Herd server with its planner, and the management
// cluster's etcd, which runs in it too (an upper bound).
func BenchmarkProvision(b *testing.B) {
	herd := herdtest.Build(b, "../../cmd/herd", "herd")
	var took time.Duration
	var cpMiB, workerMiB, serverCPU float64
	for i := range b.N {
		s := herdtest.NewServer(b, func(c *server.Config) {
			c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), b.TempDir()
		})
		name := fmt.Sprintf("bench%d", i)
		e := &env{s: s, cluster: name}
		e.admin = s.Login(b, "admin", herdtest.BootstrapPassword)
		code, body := s.Do(b, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: name, KubernetesVersion: "v1.37.2"})
		if code != http.StatusCreated {
			b.Fatalf("create: %d %s", code, body)
		}
		u := herdtest.ImportURL(b, body)
		token := strings.TrimSuffix(u[strings.Index(u, "/v1/import/")+len("/v1/import/"):], ".yaml")
		cpAddr, wAddr := fmt.Sprintf("127.0.5.%d", 2*i+1), fmt.Sprintf("127.0.5.%d", 2*i+2)
		start := time.Now()
		cp := startNodeAgent(b, herd, s, token, b.TempDir(), "--roles", "etcd,control-plane", "--hostname", name+"-cp", "--address", cpAddr, "--poll", "1s")
		w := startNodeAgent(b, herd, s, token, b.TempDir(), "--roles", "worker", "--hostname", name+"-w", "--address", wAddr, "--poll", "1s")
		herdtest.Eventually(b, "provisioned and connected", 3*time.Minute, func() error {
			if c := cluster(b, e); c.Connected != "True" || !strings.HasPrefix(provisioned(b, e), "True") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		took += time.Since(start)
		b.StopTimer()
		cpu0 := cpuSeconds(os.Getpid())
		time.Sleep(20 * time.Second)
		serverCPU += (cpuSeconds(os.Getpid()) - cpu0) / 20
		cpMiB += rss(append(herdtest.ProcessesMentioning(cpAddr), herdtest.ProcessesMentioning("agent.kubeconfig")...))
		workerMiB += rss(herdtest.ProcessesMentioning(wAddr))
		cp.kill()
		w.kill()
		s.Do(b, "DELETE", "/v1/clusters/"+name+"?force=true", e.admin, nil)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(took.Seconds()/n, "s-to-provisioned")
	b.ReportMetric(cpMiB/n, "MiB-etcd+control-plane-machine")
	b.ReportMetric(workerMiB/n, "MiB-worker-machine")
	b.ReportMetric(100*serverCPU/n, "%cpu-herd-idle")
}

// rss sums VmRSS (MiB) of pids.
func rss(pids []int) float64 {
	var kib float64
	for _, p := range pids {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		for line := range strings.Lines(string(data)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				v, _ := strconv.ParseFloat(f[1], 64)
				kib += v
			}
		}
	}
	return kib / 1024
}

// cpuSeconds is the user and system CPU time of pid.
func cpuSeconds(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks
}

// BenchmarkMachinePools provisions clusters whose machines Herd's local
// driver makes, and reports the time from the create request to
// Provisioned and Connected: one machine with every role, and five (three
// etcd and control-plane machines, two workers).
func BenchmarkMachinePools(b *testing.B) {
	herd := herdtest.Build(b, "../../cmd/herd", "herd")
	for _, tc := range []struct {
		name  string
		pools []herdapi.MachinePool
	}{
		{"1 machine", []herdapi.MachinePool{{Name: "all", Quantity: 1, Roles: []string{"etcd", "control-plane", "worker"}}}},
		{"5 machines", []herdapi.MachinePool{{Name: "cp", Quantity: 3, Roles: []string{"etcd", "control-plane"}}, {Name: "w", Quantity: 2, Roles: []string{"worker"}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took time.Duration
			for i := range b.N {
				dataDir := b.TempDir()
				s := herdtest.NewServer(b, func(c *server.Config) {
					c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
					c.HerdBinary, c.MachineSubnet, c.LocalStopWithServer = herd, "127.0.11", true
				})
				name := fmt.Sprintf("pools%d", i)
				e := &env{s: s, cluster: name}
				e.admin = s.Login(b, "admin", herdtest.BootstrapPassword)
				start := time.Now()
				code, body := s.Do(b, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: name, KubernetesVersion: "v1.37.2", MachinePools: tc.pools})
				if code != http.StatusCreated {
					b.Fatalf("create: %d %s", code, body)
				}
				herdtest.Eventually(b, "provisioned and connected", 4*time.Minute, func() error {
					if c := cluster(b, e); c.Connected != "True" || !strings.HasPrefix(provisioned(b, e), "True") {
						return fmt.Errorf("not yet: %s", provisioned(b, e))
					}
					return nil
				})
				took += time.Since(start)
				b.StopTimer()
				s.Do(b, "DELETE", "/v1/clusters/"+name+"?force=true", e.admin, nil)
				herdtest.Eventually(b, "the machines gone", 2*time.Minute, func() error {
					if left := herdtest.ProcessesMentioning(dataDir); len(left) > 0 {
						return fmt.Errorf("processes %v", left)
					}
					return nil
				})
				b.StartTimer()
			}
			b.ReportMetric(took.Seconds()/float64(b.N), "s-to-provisioned")
		})
	}
}
