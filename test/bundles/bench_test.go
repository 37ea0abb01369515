package bundles

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// benchFanout is how many Herd clusters BenchmarkBundleFanout deploys to.
const benchFanout = 50

// BenchmarkBundleFanout measures one bundle (the web chart from Git) to
// 50 clusters: the time from applying it to all 50 ready, and when each
// cluster became ready. The 50 are Herd clusters, each with its own agent
// process, registered on the three real local clusters dev, prod1 and
// prod2 (17 or 16 each; each gets its own namespace by an override), so
// that 50 kube-apiservers need not run on 2 cores.
func BenchmarkBundleFanout(b *testing.B) {
	f := newFleet(b)
	git := herdtest.StartGitServer(b, "deploy", "s3cret-token")
	git.Commit(b, "web 1", chartFiles("replicas: 1\ntag: \"1\"\nmessage: one\n"))
	real := []string{"dev", "prod1", "prod2"}
	var agents []*exec.Cmd
	b.Cleanup(func() {
		for _, a := range agents {
			_ = a.Process.Kill()
			_ = a.Wait()
		}
	})
	var overrides []v1.BundleOverride
	for i := range benchFanout {
		name := "fan" + strconv.Itoa(i)
		tok, kc := herdtest.ImportCluster(b, f.s, f.admin, name, clusters.Get(real[i%len(real)]))
		cmd, _ := herdtest.AgentProcess(b, f.herd, f.s, tok, kc)
		agents = append(agents, cmd)
		f.local.Run(b, "label", "--overwrite", "clusters.management.herd.dev", name, "fanout=yes")
		overrides = append(overrides, v1.BundleOverride{ClusterNames: []string{name}, Namespace: name})
	}
	herdtest.Eventually(b, "50 agents connected", 3*time.Minute, func() error {
		_, body := f.s.Do(b, "GET", "/v1/clusters", f.admin, nil)
		var list herdapi.ClusterList
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		n := 0
		for _, c := range list.Items {
			if c.Connected == "True" && len(c.Name) > 3 && c.Name[:3] == "fan" {
				n++
			}
		}
		if n < benchFanout {
			return fmt.Errorf("%d connected", n)
		}
		return nil
	})
	for round := 0; b.Loop(); round++ {
		name := "fan-" + strconv.Itoa(round)
		start := time.Now()
		f.apply(b, f.admin, name, herdapi.BundleApply{
			Spec: v1.BundleSpec{
				Git:     &v1.BundleGit{Repo: git.URL, Path: "charts/web"},
				Targets: v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"fanout": "yes"}}, Overrides: overrides},
			},
			GitCredentials: &herdapi.GitCredentials{Username: "deploy", Password: "s3cret-token"},
		}, http.StatusCreated)
		readyAt := map[string]time.Duration{}
		herdtest.Eventually(b, "the bundle ready on 50 clusters", 10*time.Minute, func() error {
			bd := f.bundle(b, f.admin, name)
			for _, c := range bd.Status.Clusters {
				if _, seen := readyAt[c.Cluster]; !seen && c.State == v1.BundleStateReady {
					readyAt[c.Cluster] = time.Since(start)
				}
			}
			if bd.Status.Summary != fmt.Sprintf("%d/%d", benchFanout, benchFanout) {
				return fmt.Errorf("%s ready", bd.Status.Summary)
			}
			return nil
		})
		total := time.Since(start)
		var times []time.Duration
		for _, d := range readyAt {
			times = append(times, d)
		}
		slices.Sort(times)
		b.ReportMetric(total.Seconds(), "s-all-ready")
		if len(times) > 0 {
			b.ReportMetric(times[0].Seconds(), "s-first-ready")
			b.ReportMetric(times[len(times)/2].Seconds(), "s-p50-ready")
		}
		b.StopTimer()
		code, body := f.s.Do(b, "DELETE", "/v1/bundles/"+name, f.admin, nil)
		herdtest.Expect(b, "delete the bundle", code, body, http.StatusNoContent)
		herdtest.Eventually(b, "the bundle removed from 50 clusters", 10*time.Minute, func() error {
			var list v1.BundleDeploymentList
			if err := f.mgmt.List(ctx(b), &list); err != nil || len(list.Items) > 0 {
				return fmt.Errorf("%d deployments left (%v)", len(list.Items), err)
			}
			return nil
		})
		b.StartTimer()
	}
}
