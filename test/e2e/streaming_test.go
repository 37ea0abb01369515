package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
)

// TestStreaming covers what streams through the proxy and the tunnel: a
// client-go watch that resumes across an agent restart, chunked lists,
// `logs -f`, and `kubectl cp`; and the kubeconfigs Herd hands out.
func TestStreaming(t *testing.T) {
	e := newEnv(t, "east")
	k := e.kubectl(t, e.admin)
	cs, err := kubernetes.NewForConfig(restConfig(t, k.Kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("watch resumes across an agent restart", func(t *testing.T) {
		list, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return cs.CoreV1().ConfigMaps("default").Watch(ctx, o)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		createCM(t, ctx, cs, "before")
		expectAdded(t, w, "before")
		e.stopAgent()
		e.waitConnected(t, "False")
		e.startAgent(t)
		e.waitConnected(t, "True")
		createCM(t, ctx, cs, "after")
		expectAdded(t, w, "after")
	})

	t.Run("chunked list", func(t *testing.T) {
		for _, n := range []string{"c1", "c2", "c3"} {
			createCM(t, ctx, cs, n)
		}
		page, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 2})
		if err != nil || len(page.Items) != 2 || page.Continue == "" {
			t.Fatalf("first page: %v, %d items, continue %q", err, len(page.Items), page.Continue)
		}
		rest, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 100, Continue: page.Continue})
		if err != nil || len(rest.Items) == 0 {
			t.Fatalf("next page: %v %v", err, rest)
		}
	})

	before := herdtest.ScrapeMetrics(t, e.s, e.admin)
	t.Run("logs -f and cp", func(t *testing.T) {
		k.ExecStdin(deployment, "apply", "-f", "-")
		k.Run(t, "rollout", "status", "deployment/web", "--timeout=60s")
		followFirstLine(t, k, "container started")
		pod := strings.TrimPrefix(strings.TrimSpace(k.Run(t, "get", "pods", "-l", "app=web", "-o", "name")), "pod/")
		// kwok runs exec (and so cp) on this machine, so the "remote" file is
		// a file here. Copying into a pod is not tested: kwok's local exec
		// does not pass stdin's end on, so `tar -x` in the pod never ends
		// (it hangs the same way without Herd).
		remote := filepath.Join(t.TempDir(), "hello.txt")
		if err := os.WriteFile(remote, []byte("hello through herd\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		back := filepath.Join(t.TempDir(), "back.txt")
		k.Run(t, "cp", "default/"+pod+":"+remote, back)
		if data, _ := os.ReadFile(back); string(data) != "hello through herd\n" {
			t.Errorf("cp round trip: %q", data)
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		// kwok forwards every pod port to the cluster's kube-apiserver, so a
		// TLS handshake and an HTTP answer from it prove the stream works.
		for _, websockets := range []string{"true", "false"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, localcluster.KubectlPath(""), "--kubeconfig="+k.Kubeconfig, "port-forward", "deployment/web", ":80")
			cmd.Env = append(os.Environ(), "KUBECTL_PORT_FORWARD_WEBSOCKETS="+websockets)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			local, _, _ := strings.Cut(strings.TrimPrefix(line, "Forwarding from "), " ")
			resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get("https://" + local + "/version")
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("websockets=%s: GET through port-forward %q: %v %v, want the apiserver's 401", websockets, line, err, resp)
			}
			if resp != nil {
				resp.Body.Close()
			}
			cancel()
			_ = cmd.Wait()
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// An upgraded request (exec, port-forward) is counted when its
		// stream ends, which may be just after kubectl has gone.
		for _, kind := range []string{"exec", "portforward"} {
			herdtest.Eventually(t, kind+" sessions all ended", 10*time.Second, func() error {
				m := herdtest.ScrapeMetrics(t, e.s, e.admin)
				if v, _ := m.Value("herd_proxy_sessions", "cluster", e.cluster, "kind", kind); v != 0 {
					return fmt.Errorf("herd_proxy_sessions{kind=%q} is %v", kind, v)
				}
				return nil
			})
		}
		herdtest.Eventually(t, "the streams counted", 10*time.Second, func() error {
			after := herdtest.ScrapeMetrics(t, e.s, e.admin)
			var short []string
			for _, c := range []struct {
				metric string
				labels []string
				least  float64
			}{
				{"herd_proxy_sessions_total", []string{"kind", "exec"}, 1},        // cp
				{"herd_proxy_sessions_total", []string{"kind", "portforward"}, 2}, // SPDY and WebSocket
				{"herd_proxy_requests_total", []string{"cluster", e.cluster, "verb", "list", "code", "200"}, 2},
				{"herd_proxy_requests_total", []string{"cluster", e.cluster, "verb", "create", "code", "101"}, 1},
				{"herd_tunnel_streams_total", nil, 1},
				{"herd_tunnel_bytes_total", []string{"direction", "received"}, 1000},
				{"herd_tunnel_bytes_total", []string{"direction", "sent"}, 100},
			} {
				a, _ := after.Value(c.metric, c.labels...)
				b, _ := before.Value(c.metric, c.labels...)
				if a-b < c.least {
					short = append(short, fmt.Sprintf("%s%v went up by %v, want at least %v", c.metric, c.labels, a-b, c.least))
				}
			}
			if len(short) > 0 {
				return errors.New(strings.Join(short, "; "))
			}
			return nil
		})
	})

	t.Run("kubeconfigs", func(t *testing.T) {
		h := newHerdctl(t)
		run := h.run
		run(herdtest.BootstrapPassword+"\n", "login", e.s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", checksum(e))
		for _, exec := range []bool{false, true} {
			args := []string{"kubeconfig", e.cluster}
			if exec {
				args = append(args, "--exec")
			}
			path := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(path, []byte(run("", args...)), 0o600); err != nil {
				t.Fatal(err)
			}
			kc := herdtest.Kubectl{Kubeconfig: path, Env: h.env()}
			if out := kc.Run(t, "get", "ns", "default", "-o", "name"); strings.TrimSpace(out) != "namespace/default" {
				t.Errorf("exec=%v: got %q", exec, out)
			}
			if !exec {
				token := strings.TrimSpace(kc.Run(t, "config", "view", "--raw", "-o", "jsonpath={.users[0].user.token}"))
				if code := rawGet(t, e, token, "/api", nil, "local"); code != 401 {
					t.Errorf("a kubeconfig token of %s used on cluster local: got %d, want 401", e.cluster, code)
				}
			}
		}
	})
}

func clientcmdConfig(kubeconfig string) (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}

func restConfig(t *testing.T, kubeconfig string) *rest.Config {
	cfg, err := clientcmdConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func createCM(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) {
	t.Helper()
	_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func expectAdded(t *testing.T, w watch.Interface, name string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == name {
				return
			}
		case <-timeout:
			t.Fatalf("no ADDED event for %s within 30 s", name)
		}
	}
}

// followFirstLine runs `kubectl logs -f` and waits for a line with want.
func followFirstLine(t *testing.T, k herdtest.Kubectl, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, localcluster.KubectlPath(""), "--kubeconfig="+k.Kubeconfig, "logs", "-f", "deployment/web")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, want) {
		t.Fatalf("logs -f: %q, %v", line, err)
	}
}
