package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// BenchmarkWatchFanout opens 1,000 watches of one namespace's ConfigMaps
// through Herd on one cluster (one HTTP/1.1 connection each, as 1,000
// kubectl processes would), then creates ConfigMaps and measures how long
// each event takes to reach every watcher, and what the watches cost in
// memory: the resident memory of the `herd server` and `herd agent`
// processes.
func BenchmarkWatchFanout(b *testing.B) {
	const watchers, events = 1000, 5
	e := newProcessEnv(b, "east")
	down := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	if _, errOut, err := down.Exec("create", "namespace", "bench-watch"); err != nil && !strings.Contains(errOut, "AlreadyExists") {
		b.Fatal(errOut)
	}
	rv := strings.TrimSpace(down.Run(b, "get", "configmaps", "-n", "bench-watch", "-o", "jsonpath={.metadata.resourceVersion}"))
	transport := e.s.Client.Transport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = watchers
	client := &http.Client{Transport: transport}
	b.Cleanup(transport.CloseIdleConnections)
	url := e.s.URL + "/k8s/clusters/east/api/v1/namespaces/bench-watch/configmaps?watch=1&timeoutSeconds=600&resourceVersion=" + rv

	serverBefore, agentBefore := rss([]int{e.serverPID}), rss([]int{e.agentPID})

	type seen struct {
		name string
		at   time.Time
	}
	seenc := make(chan seen, watchers*events)
	var opened, done sync.WaitGroup
	bodies := make([]*http.Response, watchers)
	opened.Add(watchers)
	for i := range watchers {
		done.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			resp, err := client.Do(req)
			opened.Done()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("watch %d: %v %v", i, err, resp)
				return
			}
			bodies[i] = resp
			dec := json.NewDecoder(bufio.NewReader(resp.Body))
			for {
				var ev struct {
					Type   string
					Object struct{ Metadata struct{ Name string } }
				}
				if dec.Decode(&ev) != nil {
					return
				}
				if ev.Type == "ADDED" {
					seenc <- seen{ev.Object.Metadata.Name, time.Now()}
				}
			}
		})
	}
	opened.Wait()
	b.Cleanup(func() {
		for _, r := range bodies {
			if r != nil {
				_ = r.Body.Close()
			}
		}
		done.Wait()
	})
	time.Sleep(2 * time.Second) // every watch is set up downstream
	serverAfter, agentAfter := rss([]int{e.serverPID}), rss([]int{e.agentPID})

	var lat []time.Duration
	stamp := time.Now().UnixNano()
	for i := range events {
		name := fmt.Sprintf("ev-%d-%d", stamp, i)
		t0 := time.Now()
		down.Run(b, "create", "configmap", "-n", "bench-watch", name)
		for got := 0; got < watchers; {
			select {
			case s := <-seenc:
				if s.name == name {
					lat = append(lat, s.at.Sub(t0))
					got++
				}
			case <-time.After(time.Minute):
				b.Fatalf("event %s reached %d of %d watchers", name, got, watchers)
			}
		}
	}
	slices.Sort(lat)
	serverPer := (serverAfter - serverBefore) * 1024 / watchers
	agentPer := (agentAfter - agentBefore) * 1024 / watchers
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "event-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "event-p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "event-max-ms")
	b.ReportMetric(serverPer, "KiB-server-rss/watch")
	b.ReportMetric(agentPer, "KiB-agent-rss/watch")
	b.Logf("%d watches through Herd: event to every watcher p50 %v, p99 %v, max %v (kubectl create included); server RSS +%.1f KiB and agent RSS +%.1f KiB per watch",
		watchers, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], serverPer, agentPer)
}
