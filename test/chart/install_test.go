package chart

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/wellknown"
)

// TestServerSideDryRun sends what the chart renders, with the default and
// the HA values, to a real kube-apiserver as a server-side dry run (every
// object is validated and admitted, none is stored), and runs Helm's own
// install in its server dry-run mode.
func TestServerSideDryRun(t *testing.T) {
	mgmt := clusters.Get("mgmt")
	kubectl := herdtest.Kubectl{Kubeconfig: mgmt.KubeconfigPath()}
	const ns = "herd-dry-run"
	kubectl.Run(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _, _ = kubectl.Exec("delete", "namespace", ns, "--wait=false") })
	for _, values := range []string{"{}", haValues, privateCAValues} {
		manifest, err := render(t, ns, values)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, err := kubectl.ExecStdin(manifest, "apply", "--server-side", "--dry-run=server", "-n", ns, "-f", "-")
		if err != nil {
			t.Fatalf("values %s: server-side dry run: %v\n%s%s", values, err, out, stderr)
		}
		if !strings.Contains(out, "deployment.apps/herd serverside-applied (server dry run)") {
			t.Errorf("values %s: %s", values, out)
		}
	}
	if out := kubectl.Run(t, "get", "all,secrets,serviceaccounts", "-n", ns, "-l", "app.kubernetes.io/name=herd", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("a dry run stored objects: %s", out)
	}
	install := action.NewInstall(helmConfig(t, mgmt.KubeconfigPath(), ns))
	install.DryRunStrategy = action.DryRunServer
	install.ReleaseName, install.Namespace = "herd", ns
	rel, err := install.Run(loadChart(t), parseValues(t, haValues))
	if err != nil {
		t.Fatalf("helm install --dry-run=server: %v", err)
	}
	if r := rel.(*releasev1.Release); !strings.Contains(r.Manifest, "kind: Deployment") {
		t.Errorf("dry run rendered %s", r.Manifest)
	}
}

// TestInstall installs the chart with Helm on a cluster whose real node
// has Herd's image, as a user would (the node chosen with nodeSelector
// and tolerations), and waits as `helm install --wait` does: Herd's server
// runs as a real container with exactly the chart's arguments and
// environment, uses the cluster as its management cluster through the
// pod's service account, serves a certificate of its own CA for the
// hostname, and lets the admin log in with the generated bootstrap
// password from the Secret that NOTES.txt names. An upgrade keeps that
// password; an uninstall removes the server.
func TestInstall(t *testing.T) {
	mgmt := clusters.Get("mgmt")
	kubeconfig := mgmt.KubeconfigPath()
	const ns, hostname = "herd", "herd.example.test"
	kc := kubeClient(t, kubeconfig)
	node := mgmt.RealNodeNames()[0]
	values := fmt.Sprintf(`
hostname: %s
hostnamePort: 8443
image: {pullPolicy: Never}
nodeSelector: {kubernetes.io/hostname: %s}
tolerations: [{key: %s, operator: Exists, effect: NoSchedule}]
resources: {requests: {cpu: 100m, memory: 128Mi}}
`, hostname, node, wellknown.NoRegistryTaint)
	cfg := helmConfig(t, kubeconfig, ns)
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = "herd", ns, true
	install.WaitStrategy, install.Timeout = kube.StatusWatcherStrategy, installTimeout
	uninstalled := false
	t.Cleanup(func() {
		if t.Failed() {
			logs, _, _ := herdtest.Kubectl{Kubeconfig: kubeconfig}.Exec("-n", ns, "logs", "deploy/herd", "--tail=40")
			pods, _, _ := herdtest.Kubectl{Kubeconfig: kubeconfig}.Exec("-n", ns, "get", "pods", "-o", "wide")
			t.Logf("pods:\n%s\nserver log:\n%s", pods, logs)
		}
		if !uninstalled {
			_, _ = action.NewUninstall(cfg).Run("herd")
		}
	})
	if _, err := install.Run(loadChart(t), parseValues(t, values)); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	pod := serverPod(t, kc, ns)
	if pod.Spec.NodeName != node {
		t.Fatalf("the server runs on %s, not the real node %s", pod.Spec.NodeName, node)
	}
	secret, err := kc.CoreV1().Secrets(ns).Get(t.Context(), "herd-bootstrap", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	password := string(secret.Data["password"])
	c := connect(t, pod.Status.PodIP, hostname)
	token := c.login(t, "admin", password)
	if body := c.get(t, "/v1/users", token); !strings.Contains(body, `"admin"`) {
		t.Errorf("users: %s", body)
	}
	if _, err := kc.CoreV1().Secrets(wellknown.Namespace).Get(t.Context(), "herd-tls", metav1.GetOptions{}); err != nil {
		t.Errorf("the server keeps its CA in the management cluster it runs in: %v", err)
	}
	if code := c.status(t, "/v1/users", "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}

	// An upgrade with another audit level rolls the pod and keeps the
	// generated password.
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace, upgrade.WaitStrategy, upgrade.Timeout = ns, kube.StatusWatcherStrategy, installTimeout
	if _, err := upgrade.Run("herd", loadChart(t), parseValues(t, values+"auditLog: {level: 2}\n")); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	secret, err = kc.CoreV1().Secrets(ns).Get(t.Context(), "herd-bootstrap", metav1.GetOptions{})
	if err != nil || string(secret.Data["password"]) != password {
		t.Fatalf("the upgrade changed the generated password (%v)", err)
	}
	pod = serverPod(t, kc, ns)
	found := false
	for _, a := range pod.Spec.Containers[0].Args {
		found = found || a == "--audit-log-level=2"
	}
	if !found {
		t.Errorf("after the upgrade the server runs with %q", pod.Spec.Containers[0].Args)
	}
	c = connect(t, pod.Status.PodIP, hostname)
	c.login(t, "admin", password)

	uninstall := action.NewUninstall(cfg)
	uninstall.WaitStrategy, uninstall.Timeout = kube.StatusWatcherStrategy, installTimeout
	if _, err := uninstall.Run("herd"); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	uninstalled = true
	herdtest.Eventually(t, "the server pod to go", time.Minute, func() error {
		pods, err := kc.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=herd"})
		if err != nil || len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left (%v)", len(pods.Items), err)
		}
		return nil
	})
	if _, err := kc.CoreV1().Secrets(ns).Get(t.Context(), "herd-bootstrap", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the bootstrap Secret outlived the release: %v", err)
	}
}

func kubeClient(t testing.TB, kubeconfig string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

// serverPod is the one ready server pod of the release.
func serverPod(t testing.TB, kc kubernetes.Interface, ns string) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	herdtest.Eventually(t, "one ready server pod", installTimeout, func() error {
		pods, err := kc.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=herd"})
		if err != nil {
			return err
		}
		var ready []corev1.Pod
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready = append(ready, p)
				}
			}
		}
		if len(ready) != 1 || len(pods.Items) != 1 {
			return fmt.Errorf("%d pods, %d ready", len(pods.Items), len(ready))
		}
		pod = ready[0]
		return nil
	})
	return pod
}

// client talks to the server in the pod as https://HOSTNAME:8443, the
// name resolving to the pod's address (as DNS or a load balancer would
// make it), trusting only the CA that /cacerts serves and whose checksum
// it checks, as `herdctl login --ca-checksum` does.
type client struct {
	http *http.Client
	base string
}

func connect(t testing.TB, podIP, hostname string) *client {
	t.Helper()
	addr := net.JoinHostPort(podIP, "8443")
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	}
	// First contact: the CA bundle, unverified, checked by its checksum
	// header, as herdctl does before it pins it.
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the CA is checked below
	resp, err := insecure.Get("https://" + hostname + ":8443/cacerts")
	if err != nil {
		t.Fatalf("reach the server in its pod at %s: %v", addr, err)
	}
	bundle, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	sum := sha256.Sum256(bundle)
	if got := resp.Header.Get("X-Herd-Ca-Checksum"); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("CA checksum header %s does not match the bundle", got)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		t.Fatalf("/cacerts: no certificates in %q", bundle)
	}
	return &client{base: "https://" + hostname + ":8443", http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: hostname}}}}
}

func (c *client) login(t testing.TB, user, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := c.http.Post(c.base+"/v1/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("login over TLS for the hostname: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var tok struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &tok) != nil || tok.Token == "" {
		t.Fatalf("login %s: %d %s", user, resp.StatusCode, out)
	}
	return tok.Token
}

func (c *client) do(t testing.TB, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (c *client) get(t testing.TB, path, token string) string {
	t.Helper()
	code, body := c.do(t, path, token)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

func (c *client) status(t testing.TB, path, token string) int {
	t.Helper()
	code, _ := c.do(t, path, token)
	return code
}
