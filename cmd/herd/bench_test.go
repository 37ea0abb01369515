package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// BenchmarkLocalClusterCreate measures `herd local-cluster create` from
// start to usable (ns/op), and the resident memory of the cluster's
// processes (supervisor with in-process etcd, apiserver, controller
// manager, scheduler, kwok) 15 s after it became usable.
func BenchmarkLocalClusterCreate(b *testing.B) {
	exe := herdtest.Build(b, ".", "herd")
	stateDir := b.TempDir()
	h := herdCLI{exe: exe, stateDir: stateDir}
	var rssTotal float64
	b.ResetTimer()
	for i := range b.N {
		name := "bench" + strconv.Itoa(i)
		b.StartTimer()
		out, err := h.run("create", name, "--nodes", "3")
		b.StopTimer()
		if err != nil {
			b.Fatalf("create: %v\n%s", err, out)
		}
		time.Sleep(15 * time.Second)
		rssTotal += rssMiB(herdtest.ProcessesMentioning(filepath.Join(stateDir, name))) +
			rssMiB(herdtest.ProcessesMentioning("\x00run\x00"+name+"\x00")) // the supervisor
		if out, err := h.run("delete", name); err != nil {
			b.Fatalf("delete: %v\n%s", err, out)
		}
	}
	b.ReportMetric(rssTotal/float64(b.N), "MiB-rss")
}

func rssMiB(pids []int) float64 {
	var kb float64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				v, _ := strconv.ParseFloat(f[1], 64)
				kb += v
			}
		}
	}
	return kb / 1024
}
