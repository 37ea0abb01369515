package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/kubeversion"
)

// Kubernetes versions `make kube` builds: provisioned clusters upgrade
// from the previous minor to the current one.
const (
	previousVersion = "v1.36.3"
	currentVersion  = "v1.37.2"
)

// TestUpgrade (and restore) provisions a cluster (one etcd and control-plane machine,
// two workers) at the previous minor and upgrades it to the current one,
// while a Deployment with a PodDisruptionBudget (minAvailable 1) runs on
// the workers. Sampled every second while the cluster answers: never
// fewer than one available replica, never a kubelet newer than the
// kube-apiserver. After: every component and kubelet at the new version,
// the workers schedulable again. Downgrades, skipped minors and unknown
// versions are refused and change nothing. Then the restore of a
// snapshot (checkRestore).
func TestUpgrade(t *testing.T) {
	e := poolsEnv(t, "127.0.9", "up")
	s := e.s
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "up", KubernetesVersion: previousVersion,
		MachinePools: []herdapi.MachinePool{
			{Name: "cp", Quantity: 1, Roles: []string{"etcd", "control-plane"}},
			{Name: "workers", Quantity: 2, Roles: []string{"worker"}},
		}})
	herdtest.Expect(t, "create up at "+previousVersion, code, body, http.StatusCreated)
	t.Cleanup(func() { s.Do(t, "DELETE", "/v1/clusters/up?force=true", e.admin, nil) })
	herdtest.Eventually(t, "cluster up provisioned and connected", 4*time.Minute, func() error {
		if c := cluster(t, e); c.Connected != "True" || c.Version != previousVersion || !strings.HasPrefix(provisioned(t, e), "True") {
			return fmt.Errorf("connected %s, version %s, provisioned %s", c.Connected, c.Version, provisioned(t, e))
		}
		return nil
	})
	k := e.kubectl(t, e.admin)
	herdtest.Eventually(t, "two worker nodes at "+previousVersion, 2*time.Minute, func() error {
		if got := kubeletVersions(k); got != previousVersion+" "+previousVersion {
			return fmt.Errorf("kubelet versions %q", got)
		}
		return nil
	})
	apply(t, k, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists}]
      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`)
	k.Run(t, "rollout", "status", "deployment/web", "--timeout=90s")

	for _, bad := range []struct{ version, want string }{
		{"v1.35.4", "cannot be provisioned"},
		{"v1.37.2-rc.0", "cannot be provisioned"},
	} {
		code, body := s.Do(t, "PUT", "/v1/clusters/up/kubernetes-version", e.admin, herdapi.ClusterUpgrade{KubernetesVersion: bad.version})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), bad.want) {
			t.Errorf("upgrade to %s: %d %s, want 422 saying %q", bad.version, code, body, bad.want)
		}
	}

	podsBefore := k.Run(t, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}")
	samples := sampleUpgrade(t, k)
	begin := time.Now()
	code, body = s.Do(t, "PUT", "/v1/clusters/up/kubernetes-version", e.admin, herdapi.ClusterUpgrade{KubernetesVersion: currentVersion})
	herdtest.Expect(t, "upgrade up to "+currentVersion, code, body, http.StatusOK)
	stopProgress := watchProgress(t, e)
	herdtest.Eventually(t, "every machine of up at "+currentVersion, 6*time.Minute, func() error {
		c := cluster(t, e)
		if c.Upgrade != "" || c.Version != currentVersion || kubeletVersions(k) != currentVersion+" "+currentVersion {
			return fmt.Errorf("version %s, upgrade %q, kubelets %q", c.Version, c.Upgrade, kubeletVersions(k))
		}
		return nil
	})
	took := time.Since(begin)
	report := samples.stop()
	progress := stopProgress()
	t.Logf("upgrade %s -> %s of 3 machines: %s (%s per machine); %s", previousVersion, currentVersion, took.Round(time.Second), (took / 3).Round(100*time.Millisecond), report)
	if samples.minAvailable < 1 {
		t.Errorf("the Deployment had %d available replicas during the upgrade: the PodDisruptionBudget was not honoured", samples.minAvailable)
	}
	if samples.skew != "" {
		t.Errorf("version skew broken during the upgrade: %s", samples.skew)
	}
	if samples.sampled < 10 {
		t.Errorf("only %d samples while the cluster answered", samples.sampled)
	}
	if out := k.Run(t, "get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}"); strings.Contains(out, "true") {
		t.Errorf("a worker stayed cordoned: %q", out)
	}
	k.Run(t, "rollout", "status", "deployment/web", "--timeout=90s")
	// Each worker was drained: none of the pods from before is left.
	podsAfter := k.Run(t, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}")
	for _, p := range strings.Fields(podsBefore) {
		if strings.Contains(podsAfter, p) {
			t.Errorf("pod %s outlived the upgrade of its worker (not drained); pods before %q, after %q", p, podsBefore, podsAfter)
		}
	}
	// The worker phase is reported; which count is seen depends on how long
	// each state lasts against the 200 ms reads (a kwok worker's step can
	// take less).
	for _, want := range []string{"waiting for control plane up-cp-1", "control planes done, ? of 2 workers done"} {
		before, after, _ := strings.Cut(want, "?")
		if !slices.ContainsFunc(progress, func(p string) bool {
			i := strings.Index(p, before)
			return i >= 0 && len(p) > i+len(before) && strings.HasPrefix(p[i+len(before)+1:], after)
		}) {
			var log []string
			for _, line := range strings.Split(s.Logs.String(), "\n") {
				if strings.Contains(line, "upgrad") || strings.Contains(line, "drain") || strings.Contains(line, "planner") {
					log = append(log, line)
				}
			}
			t.Errorf("the cluster never said %q while upgrading; it said %q; the planner's log:\n%s", want, progress, strings.Join(log[max(0, len(log)-40):], "\n"))
		}
	}
	if samples.cordoned == 0 {
		t.Errorf("no sample saw a cordoned worker")
	}

	code, body = s.Do(t, "PUT", "/v1/clusters/up/kubernetes-version", e.admin, herdapi.ClusterUpgrade{KubernetesVersion: previousVersion})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "downgrades are not supported") {
		t.Errorf("downgrade: %d %s, want 422", code, body)
	}
	if c := cluster(t, e); c.KubernetesVersion != currentVersion || c.Upgrade != "" {
		t.Errorf("after a refused downgrade: wanted version %s, upgrade %q", c.KubernetesVersion, c.Upgrade)
	}
	checkRestore(t, e, k)
}

func apply(t *testing.T, k herdtest.Kubectl, manifest string) {
	t.Helper()
	if out, errOut, err := k.ExecStdin(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v %s %s", err, out, errOut)
	}
}

// kubeletVersions lists the nodes' kubelet versions, space separated.
func kubeletVersions(k herdtest.Kubectl) string {
	out, _, err := k.Exec("get", "nodes", "-o", "jsonpath={.items[*].status.nodeInfo.kubeletVersion}")
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

// upgradeSamples is what sampleUpgrade saw.
type upgradeSamples struct {
	stop         func() string
	mu           sync.Mutex
	sampled      int
	unreachable  int
	minAvailable int
	cordoned     int
	skew         string
}

// sampleUpgrade reads, every second until stop, the Deployment web's
// available replicas and the kube-apiserver's and kubelets' versions.
// watchProgress collects, every 200 ms until the returned function is
// called, the distinct upgrade messages the cluster shows through Herd's
// API; the returned function stops and returns them.
func watchProgress(t *testing.T, e *env) func() []string {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		progress []string
		failed   int
		lastErr  error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.s.URL+"/v1/clusters/"+e.cluster, nil)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			var c herdapi.Cluster
			resp, err := e.s.Client.Do(req)
			if err != nil {
				failed++
				lastErr = err
			} else {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if decode(body, &c) == nil && c.Upgrade != "" && !slices.Contains(progress, c.Upgrade) {
					progress = append(progress, c.Upgrade)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	stop := sync.OnceValue(func() []string {
		cancel()
		<-done
		if failed > 0 && !errors.Is(lastErr, context.Canceled) {
			t.Logf("%d reads of the cluster's progress failed, the last: %v", failed, lastErr)
		}
		return progress
	})
	t.Cleanup(func() { stop() })
	return stop
}

func sampleUpgrade(t *testing.T, k herdtest.Kubectl) *upgradeSamples {
	ctx, cancel := context.WithCancel(context.Background())
	s := &upgradeSamples{minAvailable: 1 << 30}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			s.sample(k)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	s.stop = func() string {
		cancel()
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		return fmt.Sprintf("%d samples, %d while the cluster did not answer, fewest available replicas %d", s.sampled, s.unreachable, s.minAvailable)
	}
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func (s *upgradeSamples) sample(k herdtest.Kubectl) {
	out, _, err := k.Exec("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
	raw, _, verr := k.Exec("get", "--raw", "/version")
	var info struct {
		GitVersion string `json:"gitVersion"`
	}
	if verr == nil {
		verr = json.Unmarshal([]byte(raw), &info)
	}
	server := info.GitVersion
	kubelets := kubeletVersions(k)
	unschedulable, _, _ := k.Exec("get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || verr != nil || strings.HasPrefix(kubelets, "error") {
		s.unreachable++
		return
	}
	s.sampled++
	if strings.Contains(unschedulable, "true") {
		s.cordoned++
	}
	n := 0
	_, _ = fmt.Sscan(out, &n)
	s.minAvailable = min(s.minAvailable, n)
	for _, v := range strings.Fields(kubelets) {
		if s.skew == "" && kubeversion.Older(server, v) {
			s.skew = fmt.Sprintf("kubelet %s newer than kube-apiserver %s", v, server)
		}
	}
}
