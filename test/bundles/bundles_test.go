package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// The chart the Git server holds, under charts/web.
const (
	chartYAML  = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
	deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:{{ .Values.tag }}
`
	configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  message: {{ .Values.message | quote }}
`
	// brokenConfigMap does not render: no such template function.
	brokenConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  message: {{ .Values.message | nosuchfunc }}
`
)

func chartFiles(values string) map[string]string {
	return map[string]string{"charts/web/Chart.yaml": chartYAML, "charts/web/values.yaml": values,
		"charts/web/templates/deployment.yaml": deployment, "charts/web/templates/configmap.yaml": configMap, "README.md": "not the chart\n"}
}

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// TestBundles runs one Herd server with dev, prod1 and prod2 through a
// chart's life from Git, rights, bad input and herdctl.
func TestBundles(t *testing.T) {
	f := newFleet(t)
	must(t, t.Run("rollout", func(t *testing.T) { testRollout(t, f) }))
	must(t, t.Run("rights", func(t *testing.T) { testRights(t, f) }))
	must(t, t.Run("bad input", func(t *testing.T) { testBadInput(t, f) }))
	must(t, t.Run("herdctl", func(t *testing.T) { testHerdctl(t, f) }))
}

// readyAt checks that the bundle is ready on n clusters at revision rev.
func readyAt(rev string, n int) func(b herdapi.Bundle) error {
	return func(b herdapi.Bundle) error {
		want := fmt.Sprintf("%d/%d", n, n)
		if b.Status.Revision != rev || b.Status.Summary != want || b.Status.Paused {
			return fmt.Errorf("revision %s %s, want %s %s", b.Status.Revision, b.Status.Summary, rev, want)
		}
		return nil
	}
}

func testRollout(t *testing.T, f *fleet) {
	git := herdtest.StartGitServer(t, "deploy", "s3cret-token")
	c1 := git.Commit(t, "web 1", chartFiles("replicas: 1\ntag: \"1\"\nmessage: one\n"))[:12]
	f.apply(t, f.admin, "web", herdapi.BundleApply{
		Spec: v1.BundleSpec{
			Git:       &v1.BundleGit{Repo: git.URL, Path: "charts/web", PollInterval: &metav1.Duration{Duration: time.Minute}},
			Helm:      &v1.BundleHelm{Values: rawJSON(`{"message":"from herd"}`)},
			Namespace: "web",
			Targets: v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
				Overrides: []v1.BundleOverride{{ClusterNames: []string{"prod2"}, Values: rawJSON(`{"replicas":2}`)}}},
			Rollout: v1.BundleRollout{MaxChanging: 1},
		},
		GitCredentials: &herdapi.GitCredentials{Username: "deploy", Password: "s3cret-token"},
	}, http.StatusCreated)
	start := time.Now()
	f.waitBundle(t, "web", "revision 1 ready on both prod clusters", 3*time.Minute, readyAt(c1, 2))
	t.Logf("a chart from Git ready on 2 clusters in %s", time.Since(start).Round(time.Millisecond))

	must(t, t.Run("the chart is a Helm release in each prod cluster, with the bundle's values", func(t *testing.T) {
		for cluster, replicas := range map[string]int32{"prod1": 1, "prod2": 2} {
			if rel := releases(t, cluster, "web"); rel["web"] != 1 {
				t.Errorf("helm list -n web in %s = %v, want release web at revision 1", cluster, rel)
			}
			d, err := downKube(t, cluster).AppsV1().Deployments("web").Get(ctx(t), "web", metav1.GetOptions{})
			if err != nil || *d.Spec.Replicas != replicas || d.Labels[v1.BundleLabel] != "web" {
				t.Errorf("%s: Deployment web: %v, want %d replicas (override) and the bundle's label", cluster, err, replicas)
			}
			cm, err := downKube(t, cluster).CoreV1().ConfigMaps("web").Get(ctx(t), "web", metav1.GetOptions{})
			if err != nil || cm.Data["message"] != "from herd" {
				t.Errorf("%s: ConfigMap web: %v %v, want message from the bundle's values", cluster, cm.Data, err)
			}
		}
		if rel := releases(t, "dev", "web"); len(rel) != 0 {
			t.Errorf("dev (env=dev) got releases %v", rel)
		}
		if out := f.local.Run(t, "get", "bundles.management.herd.dev", "web"); !strings.Contains(out, "2/2") || !strings.Contains(out, c1) {
			t.Errorf("kubectl get bundles:\n%s\nwant 2/2 at %s", out, c1)
		}
	}))

	must(t, t.Run("a new commit rolls out one cluster at a time", func(t *testing.T) {
		rec := f.recordRollout(t, "web")
		c2 := git.Commit(t, "web 2", map[string]string{"charts/web/values.yaml": "replicas: 1\ntag: \"2\"\nmessage: two\n"})[:12]
		f.refresh(t, "web")
		f.waitBundle(t, "web", "revision 2 ready on both", 3*time.Minute, readyAt(c2, 2))
		most, order := rec.stop()
		if most != 1 {
			t.Errorf("at most %d clusters were changing at once, want 1 (rollout.maxChanging)", most)
		}
		if strings.Join(order, ",") != "prod1 staged,prod1 ready,prod2 staged,prod2 ready" {
			t.Errorf("rollout order %v, want prod1 staged and ready before prod2 is staged", order)
		}
		for _, cluster := range []string{"prod1", "prod2"} {
			d, _ := downKube(t, cluster).AppsV1().Deployments("web").Get(ctx(t), "web", metav1.GetOptions{})
			if d == nil || d.Spec.Template.Spec.Containers[0].Image != "web:2" {
				t.Errorf("%s runs %v, want web:2", cluster, d)
			}
		}
	}))

	must(t, t.Run("a broken commit stops the rollout and says why", func(t *testing.T) {
		before := releases(t, "prod1", "web")["web"]
		c3 := git.Commit(t, "broken", map[string]string{"charts/web/templates/configmap.yaml": brokenConfigMap})[:12]
		f.refresh(t, "web")
		b := f.waitBundle(t, "web", "paused on the broken commit", 2*time.Minute, func(b herdapi.Bundle) error {
			if b.Status.Revision != c3 || !b.Status.Paused {
				return fmt.Errorf("not paused on %s", c3)
			}
			return nil
		})
		if !strings.Contains(b.Status.Message, "prod1") || !strings.Contains(b.Status.Message, "nosuchfunc") {
			t.Errorf("message %q does not say that prod1 failed and why", b.Status.Message)
		}
		if s := clusterState(b, "prod1"); s.State != v1.BundleStateError || !strings.Contains(s.Message, c3) {
			t.Errorf("prod1: %+v, want Error naming revision %s", s, c3)
		}
		time.Sleep(3 * time.Second) // a rollout that went on would stage prod2 by now
		b = f.bundle(t, f.admin, "web")
		if s := clusterState(b, "prod2"); s.Revision == c3 || s.State == v1.BundleStatePending {
			t.Errorf("prod2 %+v: the rollout went on past a failure", s)
		}
		if after := releases(t, "prod1", "web")["web"]; after != before {
			t.Errorf("prod1's release went from revision %d to %d on a chart that does not render", before, after)
		}
		c4 := git.Commit(t, "fixed", map[string]string{"charts/web/templates/configmap.yaml": configMap,
			"charts/web/values.yaml": "replicas: 1\ntag: \"4\"\nmessage: four\n"})[:12]
		f.refresh(t, "web")
		f.waitBundle(t, "web", "the fix ready on both", 3*time.Minute, readyAt(c4, 2))
	}))
	rev := f.bundle(t, f.admin, "web").Status.Revision

	must(t, t.Run("a cluster labelled prod later gets it", func(t *testing.T) {
		f.label(t, "dev", "prod")
		f.waitBundle(t, "web", "ready on three clusters", 3*time.Minute, readyAt(rev, 3))
		if rel := releases(t, "dev", "web"); rel["web"] == 0 {
			t.Errorf("helm list in dev: %v, want web", rel)
		}
	}))

	must(t, t.Run("a deleted Deployment is put back", func(t *testing.T) {
		kube := downKube(t, "prod2")
		if err := kube.AppsV1().Deployments("web").Delete(ctx(t), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		gone := time.Now()
		took := herdtest.Eventually(t, "the Deployment back in prod2", time.Minute, func() error {
			d, err := kube.AppsV1().Deployments("web").Get(ctx(t), "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if d.CreationTimestamp.Time.Before(gone.Truncate(time.Second)) {
				return fmt.Errorf("still the deleted one")
			}
			return nil
		})
		t.Logf("deleted Deployment back after %s", took.Round(time.Millisecond))
		herdtest.Eventually(t, "web.prod2 counting the correction", 10*time.Second, func() error {
			var bd v1.BundleDeployment
			if err := f.mgmt.Get(ctx(t), client.ObjectKey{Name: "web.prod2"}, &bd); err != nil || bd.Status.Corrections == 0 {
				return fmt.Errorf("%d corrections (%v)", bd.Status.Corrections, err)
			}
			return nil
		})
	}))

	must(t, t.Run("an offline cluster catches up when it is back, the others go on", func(t *testing.T) {
		f.stopAgent("prod2")
		f.waitBundle(t, "web", "prod2 offline", time.Minute, func(b herdapi.Bundle) error {
			if s := clusterState(b, "prod2"); s.State != v1.BundleStateOffline {
				return fmt.Errorf("prod2 is %s", s.State)
			}
			return nil
		})
		c5 := git.Commit(t, "web 5", map[string]string{"charts/web/values.yaml": "replicas: 1\ntag: \"5\"\nmessage: five\n"})[:12]
		f.refresh(t, "web")
		f.waitBundle(t, "web", "dev and prod1 at revision 5", 3*time.Minute, func(b herdapi.Bundle) error {
			for _, c := range []string{"dev", "prod1"} {
				if s := clusterState(b, c); s.Revision != c5 || s.State != v1.BundleStateReady {
					return fmt.Errorf("%s: %+v", c, s)
				}
			}
			return nil
		})
		f.startAgent(t, "prod2")
		f.waitBundle(t, "web", "prod2 back and at revision 5", 3*time.Minute, readyAt(c5, 3))
	}))

	must(t, t.Run("a cluster leaving the selector has the release removed", func(t *testing.T) {
		f.label(t, "dev", "dev")
		herdtest.Eventually(t, "the release gone from dev", 2*time.Minute, func() error {
			if rel := releases(t, "dev", "web"); len(rel) != 0 {
				return fmt.Errorf("helm list in dev: %v", rel)
			}
			return nil
		})
		f.waitBundle(t, "web", "back to two clusters", time.Minute, func(b herdapi.Bundle) error {
			if b.Status.Summary != "2/2" {
				return fmt.Errorf("summary %s", b.Status.Summary)
			}
			return nil
		})
	}))

	must(t, t.Run("deleting the bundle removes it everywhere", func(t *testing.T) {
		code, body := f.s.Do(t, "DELETE", "/v1/bundles/web", f.admin, nil)
		herdtest.Expect(t, "delete bundle web", code, body, http.StatusNoContent)
		herdtest.Eventually(t, "the releases and deployments gone", 2*time.Minute, func() error {
			for _, c := range []string{"prod1", "prod2"} {
				if rel := releases(t, c, "web"); len(rel) != 0 {
					return fmt.Errorf("helm list in %s: %v", c, rel)
				}
			}
			var list v1.BundleDeploymentList
			if err := f.mgmt.List(ctx(t), &list, client.MatchingLabels{v1.BundleLabel: "web"}); err != nil || len(list.Items) > 0 {
				return fmt.Errorf("%d bundle deployments left (%v)", len(list.Items), err)
			}
			return nil
		})
	}))
}

func (f *fleet) refresh(t *testing.T, name string) {
	t.Helper()
	code, body := f.s.Do(t, "POST", "/v1/bundles/"+name+"/refresh", f.admin, nil)
	herdtest.Expect(t, "refresh bundle "+name, code, body, http.StatusAccepted)
}

// rollout records, from a watch of a bundle's deployments, how many
// clusters were changing at once and in which order clusters were staged
// and became ready.
type rollout struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	most   int
	order  []string
}

func (f *fleet) recordRollout(t *testing.T, bundle string) *rollout {
	wc, err := client.NewWithWatch(f.rc, client.Options{Scheme: f.mgmt.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	var list v1.BundleDeploymentList
	if err := f.mgmt.List(ctx(t), &list, client.MatchingLabels{v1.BundleLabel: bundle}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(wctx, &v1.BundleDeploymentList{}, client.MatchingLabels{v1.BundleLabel: bundle},
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &rollout{cancel: cancel, done: make(chan struct{})}
	hashes := map[string]string{}
	settled := map[string]bool{}
	for _, bd := range list.Items {
		hashes[bd.Spec.ClusterName], settled[bd.Spec.ClusterName] = bd.Spec.Hash, true
	}
	go func() {
		defer close(r.done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			bd, ok := ev.Object.(*v1.BundleDeployment)
			if !ok {
				continue
			}
			c := bd.Spec.ClusterName
			r.mu.Lock()
			if bd.Spec.Hash != hashes[c] {
				hashes[c], settled[c] = bd.Spec.Hash, false
				r.order = append(r.order, c+" staged")
			}
			if !settled[c] && bd.Status.AppliedHash == bd.Spec.Hash && bd.Status.Ready {
				settled[c] = true
				r.order = append(r.order, c+" ready")
			}
			changing := 0
			for _, s := range settled {
				if !s {
					changing++
				}
			}
			r.most = max(r.most, changing)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *rollout) stop() (int, []string) {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.most, r.order
}

// testRights: a project member's bundle does only what they may do.
func testRights(t *testing.T, f *fleet) {
	code, body := f.s.Do(t, "POST", "/v1/users", f.admin, herdapi.UserCreateRequest{Username: "alice", Password: "alice-password-1"})
	herdtest.Expect(t, "create alice", code, body, http.StatusCreated)
	alice := f.s.Login(t, "alice", "alice-password-1")
	code, body = f.s.Do(t, "POST", "/v1/projects", f.admin, herdapi.ProjectCreateRequest{Name: "team", ClusterName: "prod1"})
	herdtest.Expect(t, "create project team", code, body, http.StatusCreated)
	code, body = f.s.Do(t, "POST", "/v1/projects/team/namespaces", f.admin, herdapi.ProjectNamespaceRequest{Namespace: "team-ns", Create: true})
	herdtest.Expect(t, "add team-ns", code, body, http.StatusOK)
	code, body = f.s.Do(t, "POST", "/v1/members", f.admin, herdapi.MemberRequest{ProjectName: "team", RoleTemplate: "project-member", Username: "alice"})
	if code/100 != 2 {
		t.Fatalf("alice joins team: %d %s", code, body)
	}
	cm := func(ns, name string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {owner: alice}\n", name, ns)
	}
	inline := func(manifests string, targets v1.BundleTargets) herdapi.BundleApply {
		return herdapi.BundleApply{Spec: v1.BundleSpec{Manifests: manifests, Targets: targets}}
	}
	prod1 := v1.BundleTargets{ClusterNames: []string{"prod1"}}

	must(t, t.Run("in her project's namespace", func(t *testing.T) {
		f.apply(t, alice, "alice-ok", inline(cm("team-ns", "alice-ok"), prod1), http.StatusCreated)
		f.waitBundle(t, "alice-ok", "ready", 2*time.Minute, func(b herdapi.Bundle) error {
			if b.Status.Summary != "1/1" {
				return fmt.Errorf("summary %s", b.Status.Summary)
			}
			return nil
		})
		if _, err := downKube(t, "prod1").CoreV1().ConfigMaps("team-ns").Get(ctx(t), "alice-ok", metav1.GetOptions{}); err != nil {
			t.Errorf("alice's ConfigMap: %v", err)
		}
	}))

	must(t, t.Run("outside her project: refused, nothing half applied", func(t *testing.T) {
		f.apply(t, alice, "alice-escalate", inline(cm("team-ns", "alice-first")+"---\n"+cm("kube-system", "alice-sneaky"), prod1), http.StatusCreated)
		b := f.waitBundle(t, "alice-escalate", "refused in prod1", 2*time.Minute, func(b herdapi.Bundle) error {
			if s := clusterState(b, "prod1"); s.State != v1.BundleStateError {
				return fmt.Errorf("prod1 is %s", s.State)
			}
			return nil
		})
		if s := clusterState(b, "prod1"); !strings.Contains(s.Message, "forbidden") || !strings.Contains(s.Message, "kube-system") {
			t.Errorf("prod1's message %q does not say what was forbidden", s.Message)
		}
		for ns, name := range map[string]string{"kube-system": "alice-sneaky", "team-ns": "alice-first"} {
			if _, err := downKube(t, "prod1").CoreV1().ConfigMaps(ns).Get(ctx(t), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap %s/%s: %v, want not found (nothing applied)", ns, name, err)
			}
		}
	}))

	must(t, t.Run("a cluster she may not reach", func(t *testing.T) {
		code, body := f.s.Do(t, "PUT", "/v1/bundles/alice-prod2", alice, inline(cm("team-ns", "x"), v1.BundleTargets{ClusterNames: []string{"prod2"}}))
		if code != http.StatusUnprocessableEntity || !bytes.Contains(body, []byte("prod2")) {
			t.Errorf("naming prod2: %d %s, want 422 naming prod2", code, body)
		}
		f.apply(t, alice, "alice-prod", inline(cm("team-ns", "alice-prod"),
			v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}), http.StatusCreated)
		b := f.waitBundle(t, "alice-prod", "prod1 ready, prod2 refused", 2*time.Minute, func(b herdapi.Bundle) error {
			if clusterState(b, "prod1").State != v1.BundleStateReady || clusterState(b, "prod2").State != v1.BundleStateError {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if s := clusterState(b, "prod2"); !strings.Contains(s.Message, "may not reach") {
			t.Errorf("prod2: %q", s.Message)
		}
		var bd v1.BundleDeployment
		if err := f.mgmt.Get(ctx(t), client.ObjectKey{Name: "alice-prod.prod2"}, &bd); !apierrors.IsNotFound(err) {
			t.Errorf("a deployment to prod2 exists (%v): alice may not reach it", err)
		}
	}))

	must(t, t.Run("others' bundles", func(t *testing.T) {
		f.apply(t, f.admin, "admins", inline(cm("default", "admins"), prod1), http.StatusCreated)
		for _, req := range []struct{ method, path string }{{"GET", "/v1/bundles/admins"}, {"DELETE", "/v1/bundles/admins"}, {"POST", "/v1/bundles/admins/refresh"}} {
			if code, body := f.s.Do(t, req.method, req.path, alice, nil); code != http.StatusNotFound {
				t.Errorf("alice %s %s: %d %s, want 404", req.method, req.path, code, body)
			}
		}
		code, body := f.s.Do(t, "PUT", "/v1/bundles/admins", alice, inline(cm("team-ns", "mine-now"), prod1))
		if code != http.StatusConflict {
			t.Errorf("alice replacing the admin's bundle: %d %s, want 409", code, body)
		}
		_, body = f.s.Do(t, "GET", "/v1/bundles", alice, nil)
		var list herdapi.BundleList
		_ = json.Unmarshal(body, &list)
		for _, b := range list.Items {
			if b.Creator != "" && b.Name == "admins" {
				t.Errorf("alice lists the admin's bundle")
			}
		}
		code, body = f.s.Do(t, "PUT", "/v1/bundles/alice-secret", alice, herdapi.BundleApply{Spec: v1.BundleSpec{
			Git: &v1.BundleGit{Repo: "http://127.0.0.1:1/x.git", SecretName: "cluster-prod1"}, Targets: prod1}})
		if code != http.StatusUnprocessableEntity || !bytes.Contains(body, []byte("secretName")) {
			t.Errorf("a git.secretName of another Secret: %d %s, want 422", code, body)
		}
	}))
	for _, name := range []string{"alice-ok", "alice-escalate", "alice-prod"} {
		f.s.Do(t, "DELETE", "/v1/bundles/"+name, alice, nil)
	}
	f.s.Do(t, "DELETE", "/v1/bundles/admins", f.admin, nil)
}

// testBadInput: refusals say what to fix; failures are per cluster.
func testBadInput(t *testing.T, f *fleet) {
	prod := v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}
	for _, tc := range []struct {
		name, bundle string
		spec         v1.BundleSpec
		want         string
	}{
		{"no content", "empty", v1.BundleSpec{Targets: prod}, "exactly one of spec.manifests"},
		{"both contents", "both", v1.BundleSpec{Manifests: "a: b", Git: &v1.BundleGit{Repo: "http://x"}, Targets: prod}, "exactly one"},
		{"manifests that do not parse", "unparsed", v1.BundleSpec{Manifests: "kind: [", Targets: prod}, "document 1"},
		{"no targets", "untargeted", v1.BundleSpec{Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"}, "spec.targets"},
		{"a bad selector", "badsel", v1.BundleSpec{Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
			Targets: v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}}}, "clusterSelector"},
		{"a name that is not a DNS label", "Bad.Name", v1.BundleSpec{Manifests: "x", Targets: prod}, "bundle name"},
		{"a git URL that is not http", "ssh", v1.BundleSpec{Git: &v1.BundleGit{Repo: "git@example.invalid:x.git"}, Targets: prod}, "http:// or https://"},
		{"credentials in the git URL", "userinfo", v1.BundleSpec{Git: &v1.BundleGit{Repo: "https://deploy:pw@git.example.invalid/x.git"}, Targets: prod}, "no credentials in the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.s.Do(t, "PUT", "/v1/bundles/"+tc.bundle, f.admin, herdapi.BundleApply{Spec: tc.spec})
			if code != http.StatusUnprocessableEntity || !bytes.Contains(body, []byte(tc.want)) {
				t.Errorf("%d %s, want 422 with %q", code, body, tc.want)
			}
		})
	}

	must(t, t.Run("manifests the apiserver rejects", func(t *testing.T) {
		manifests := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: before-bad}\n---\n" +
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: -1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\n"
		f.apply(t, f.admin, "rejected", herdapi.BundleApply{Spec: v1.BundleSpec{Manifests: manifests, Targets: prod}}, http.StatusCreated)
		b := f.waitBundle(t, "rejected", "refused on both", 2*time.Minute, func(b herdapi.Bundle) error {
			for _, c := range []string{"prod1", "prod2"} {
				if s := clusterState(b, c); s.State != v1.BundleStateError {
					return fmt.Errorf("%s is %s", c, s.State)
				}
			}
			return nil
		})
		if s := clusterState(b, "prod1"); !strings.Contains(s.Message, "Deployment default/bad") || !strings.Contains(s.Message, "replicas") {
			t.Errorf("prod1's message %q does not name the object and field", s.Message)
		}
		if _, err := downKube(t, "prod1").CoreV1().ConfigMaps("default").Get(ctx(t), "before-bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the ConfigMap before the rejected Deployment: %v, want not applied", err)
		}
		f.s.Do(t, "DELETE", "/v1/bundles/rejected", f.admin, nil)
	}))

	must(t, t.Run("an unreachable Git server", func(t *testing.T) {
		f.apply(t, f.admin, "nogit", herdapi.BundleApply{Spec: v1.BundleSpec{Git: &v1.BundleGit{Repo: "http://127.0.0.1:9/nope.git"}, Targets: prod}}, http.StatusCreated)
		b := f.waitBundle(t, "nogit", "says the source failed", time.Minute, func(b herdapi.Bundle) error {
			if !strings.Contains(b.Status.Message, "connection refused") {
				return fmt.Errorf("message %q", b.Status.Message)
			}
			return nil
		})
		if b.Status.Summary != "0/0" || len(b.Status.Clusters) != 0 {
			t.Errorf("with no content, clusters %v got a deployment", b.Status.Clusters)
		}
		f.s.Do(t, "DELETE", "/v1/bundles/nogit", f.admin, nil)
	}))

	must(t, t.Run("a selector that selects nothing", func(t *testing.T) {
		f.apply(t, f.admin, "nowhere", herdapi.BundleApply{Spec: v1.BundleSpec{Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
			Targets: v1.BundleTargets{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "staging"}}}}}, http.StatusCreated)
		f.waitBundle(t, "nowhere", "says so", time.Minute, func(b herdapi.Bundle) error {
			if b.Status.Summary != "0/0" || !strings.Contains(b.Status.Message, "select no cluster") {
				return fmt.Errorf("summary %s message %q", b.Status.Summary, b.Status.Message)
			}
			return nil
		})
		f.s.Do(t, "DELETE", "/v1/bundles/nowhere", f.admin, nil)
	}))

	must(t, t.Run("drift reported only", func(t *testing.T) {
		f.apply(t, f.admin, "watched", herdapi.BundleApply{Spec: v1.BundleSpec{DriftCorrection: v1.DriftReport,
			Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {level: info}\n", Targets: v1.BundleTargets{ClusterNames: []string{"prod1"}}}}, http.StatusCreated)
		f.waitBundle(t, "watched", "ready", time.Minute, func(b herdapi.Bundle) error {
			if b.Status.Summary != "1/1" {
				return fmt.Errorf("summary %s", b.Status.Summary)
			}
			return nil
		})
		down("prod1").Run(t, "patch", "configmap", "watched", "-n", "default", "--type=merge", "-p", `{"data":{"level":"debug"}}`)
		b := f.waitBundle(t, "watched", "drifted", time.Minute, func(b herdapi.Bundle) error {
			if s := clusterState(b, "prod1"); s.State != v1.BundleStateDrifted {
				return fmt.Errorf("prod1 is %s", s.State)
			}
			return nil
		})
		if s := clusterState(b, "prod1"); !strings.Contains(s.Message, "ConfigMap default/watched was changed") {
			t.Errorf("message %q", s.Message)
		}
		if got := down("prod1").Run(t, "get", "configmap", "watched", "-n", "default", "-o", "jsonpath={.data.level}"); got != "debug" {
			t.Errorf("level = %q: a Report bundle put it back", got)
		}
		f.s.Do(t, "DELETE", "/v1/bundles/watched", f.admin, nil)
	}))
}

// testHerdctl: the CLI applies, lists, shows and deletes.
func testHerdctl(t *testing.T, f *fleet) {
	bin := herdtest.Build(t, "../../cmd/herdctl", "herdctl")
	config := filepath.Join(t.TempDir(), "herdctl-config")
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HERDCONFIG="+config)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			return out.String() + errOut.String(), err
		}
		return out.String(), nil
	}
	sum := server.Checksum(f.s.CABundle())
	if out, err := run(herdtest.BootstrapPassword+"\n", "login", f.s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", sum); err != nil {
		t.Fatalf("herdctl login: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "bundle.yaml")
	doc := `apiVersion: management.herd.dev/v1
kind: Bundle
metadata:
  name: cli
spec:
  namespace: cli
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: from-cli
    data:
      a: b
  targets:
    clusterSelector:
      matchLabels: {env: prod}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run("", "bundles", "apply", "-f", file); err != nil || !strings.Contains(out, "bundle cli applied") {
		t.Fatalf("herdctl bundles apply: %v\n%s", err, out)
	}
	herdtest.Eventually(t, "herdctl bundles list shows 2/2", 2*time.Minute, func() error {
		out, err := run("", "bundles", "list")
		if err != nil || !strings.Contains(out, "cli") || !strings.Contains(out, "2/2") {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
	if out, err := run("", "bundles", "get", "cli"); err != nil || !strings.Contains(out, "prod1") || !strings.Contains(out, "Ready") {
		t.Errorf("herdctl bundles get cli: %v\n%s", err, out)
	}
	typo := strings.Replace(doc, "targets:", "targetz:", 1)
	_ = os.WriteFile(file, []byte(typo), 0o600)
	if out, err := run("", "bundles", "apply", "-f", file); err == nil || !strings.Contains(out, "targetz") {
		t.Errorf("a misspelt field: %v\n%s, want an error naming it", err, out)
	}
	if out, err := run("", "bundles", "delete", "cli"); err != nil {
		t.Errorf("herdctl bundles delete: %v\n%s", err, out)
	}
	herdtest.Eventually(t, "the ConfigMap removed from prod1", time.Minute, func() error {
		if _, err := downKube(t, "prod1").CoreV1().ConfigMaps("cli").Get(ctx(t), "from-cli", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
}

// must stops a test whose step failed: the steps after it build on it.
func must(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.FailNow()
	}
}
