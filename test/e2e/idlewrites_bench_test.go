package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/agent"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

// BenchmarkIdleWrites registers HERD_BENCH_CLUSTERS (default 500)
// clusters with one `herd server` process, each through the real
// registration API by an agent of its own (internal/agent, many in this
// process, each with its own tunnel), so that each runs its controllers
// (status, RBAC, token copies) against a real kube-apiserver. They all
// register the shared "east" cluster: 500 kube-apiservers do not fit on
// this machine. Once every cluster reports its status, and after a
// settle, it counts the write requests (POST, PUT, PATCH, APPLY, DELETE)
// that the management kube-apiserver served in a minute, from its own
// apiserver_request_total, by resource.
func BenchmarkIdleWrites(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("HERD_BENCH_CLUSTERS")); err == nil && v > 0 {
		n = v
	}
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "BenchmarkIdleWrites: "+format+"\n", args...)
	}
	herd := herdtest.Build(b, "../../cmd/herd", "herd")
	addr := freeAddr(b, "127.0.0.1")
	srv := runHAReplica(b, herd, "writes-1", addr, "https://"+addr, b.TempDir())
	ca := srv.ca(b)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	front := &herdtest.Server{URL: "https://" + addr, Client: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	admin := front.Login(b, "admin", herdtest.BootstrapPassword)
	kubeconfig := benchAgentKubeconfig(b)

	mgmt := benchClient(b)
	const label = "writes"
	names := make([]string, n)
	ctx, cancel := context.WithCancel(context.Background())
	var agents sync.WaitGroup
	var failed atomic.Int64
	// Herd's own deletion would clean "east" up after each cluster, but
	// there each cleanup deletes the RBAC objects that all the other
	// clusters' controllers then write again: with 500 clusters on one
	// kube-apiserver that takes many minutes. So the agents stop first,
	// then the clusters go with their finalizer, then their token copies
	// in "east" are deleted (cleanups run last first).
	b.Cleanup(func() { deleteTokenCopies(b, names) })
	b.Cleanup(func() { deleteLabeledClusters(b, mgmt, label) })
	b.Cleanup(func() { cancel(); agents.Wait() })
	for i := range n {
		names[i] = fmt.Sprintf("writes-%04d", i)
		// Made directly, as a platform team's GitOps would: no creator
		// binding, so that the clusters' RBAC controllers, which share one
		// kube-apiserver here, all want the same objects there.
		cl := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: names[i], Labels: map[string]string{benchLabel: label}}}
		if err := mgmt.Create(ctx, cl); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range names {
		var body []byte
		herdtest.Eventually(b, "the import command of "+name, time.Minute, func() error {
			var code int
			code, body = front.Do(b, "POST", "/v1/clusters/"+name+"/import", admin, nil)
			if code != http.StatusCreated { // 404 until the server's cache has the cluster
				return fmt.Errorf("%d %s", code, body)
			}
			return nil
		})
		token := registrationToken(b, herdtest.ImportURL(b, body))
		agents.Go(func() {
			err := agent.Run(ctx, agent.Config{Server: front.URL, Token: token, CAChecksum: server.Checksum(ca), Kubeconfig: kubeconfig})
			if err != nil && ctx.Err() == nil {
				failed.Add(1)
				say("agent of %s stopped: %v", name, err)
			}
		})
	}
	begin := time.Now()
	herdtest.Eventually(b, "every cluster's status written", 15*time.Minute, func() error {
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d agents stopped", f)
		}
		var list v1.ClusterList
		if err := mgmt.List(ctx, &list, client.MatchingLabels{benchLabel: label}); err != nil {
			return err
		}
		done := 0
		for _, c := range list.Items {
			if c.Status.KubernetesVersion != "" && c.Status.NodeCount > 0 {
				done++
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d clusters report their status", done, n)
		}
		return nil
	})
	say("%d clusters registered and reporting in %v", n, time.Since(begin).Round(time.Second))

	time.Sleep(2 * time.Minute) // settle: the first writes of each cluster are done
	before, at0 := writeRequests(b), time.Now()
	time.Sleep(time.Minute)
	after := writeRequests(b)
	perMinute := func(resource string) float64 {
		return float64(after[resource]-before[resource]) / time.Since(at0).Minutes()
	}
	var lines []string
	var total float64
	for resource := range after {
		if w := perMinute(resource); w > 0 {
			total += w
			lines = append(lines, fmt.Sprintf("%s %.0f", resource, w))
		}
	}
	slices.Sort(lines)
	b.ReportMetric(total, "writes/min")
	b.ReportMetric(perMinute("clusters.herd.dev"), "cluster-writes/min")
	say("%d idle clusters: %.0f management writes a minute (by resource: %s)", n, total, strings.Join(lines, ", "))
	b.ReportMetric(0, "ns/op")
}

// deleteTokenCopies deletes the token copies that the named clusters'
// controllers wrote into "east".
func deleteTokenCopies(b *testing.B, names []string) {
	down := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	for chunk := range slices.Chunk(names, 100) {
		sel := tokencopy.Label + " in (" + strings.Join(chunk, ",") + ")"
		if _, errOut, err := down.Exec("-n", wellknown.TokenCopiesNamespace, "delete", "secrets", "-l", sel, "--ignore-not-found"); err != nil {
			b.Logf("delete the token copies: %v\n%s", err, errOut)
		}
	}
}

// benchAgentKubeconfig is a kubeconfig of the shared "east" cluster with
// the token of a cluster-admin service account, as an agent's.
func benchAgentKubeconfig(b *testing.B) string {
	east := clusters.Get("east")
	down := herdtest.Kubectl{Kubeconfig: east.KubeconfigPath()}
	manifest := `apiVersion: v1
kind: Namespace
metadata: {name: herd-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: herd-bench-agent, namespace: herd-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: herd-bench-agent}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: herd-bench-agent, namespace: herd-system}]
`
	if _, errOut, err := down.ExecStdin(manifest, "apply", "-f", "-"); err != nil {
		b.Fatalf("the benchmark agent's account: %v\n%s", err, errOut)
	}
	b.Cleanup(func() {
		_, _, _ = down.Exec("delete", "clusterrolebinding", "herd-bench-agent", "--ignore-not-found")
		_, _, _ = down.Exec("-n", "herd-system", "delete", "serviceaccount", "herd-bench-agent", "--ignore-not-found")
	})
	return saKubeconfig(b, down, east.ServerURL(), "herd-bench-agent")
}

// registrationToken is the token in an import URL (…/v1/import/TOKEN.yaml).
func registrationToken(b *testing.B, importURL string) string {
	u, err := url.Parse(importURL)
	if err != nil {
		b.Fatal(err)
	}
	tok, ok := strings.CutPrefix(u.Path, "/v1/import/")
	if !ok {
		b.Fatalf("no token in %s", importURL)
	}
	return strings.TrimSuffix(tok, ".yaml")
}

// writeRequests is, by resource (RESOURCE.GROUP), how many write requests
// the management kube-apiserver has served since it started.
func writeRequests(b *testing.B) map[string]int64 {
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	out := mgmt.Run(b, "get", "--raw", "/metrics")
	counts := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		labels := map[string]string{}
		for pair := range strings.SplitSeq(labelText, ",") {
			k, v, _ := strings.Cut(pair, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		switch labels["verb"] {
		case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION":
		default:
			continue
		}
		resource := labels["resource"]
		if g := labels["group"]; g != "" {
			resource += "." + g
		}
		if labels["subresource"] != "" {
			resource += "/" + labels["subresource"]
		}
		n, _ := strconv.ParseFloat(value, 64)
		counts[resource] += int64(n)
	}
	return counts
}
