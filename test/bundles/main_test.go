// Package bundles tests bundles end to end: a Herd server on a management
// cluster, three real local clusters whose agents dial it, a real Git
// server on loopback, the real kubectl and Helm's own library reading the
// releases in the clusters.
package bundles

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// clusters: "mgmt" holds the server's state; dev, prod1 and prod2 are the
// clusters bundles go to.
var clusters *herdtest.Clusters

func TestMain(m *testing.M) {
	os.Exit(herdtest.RunWithClusters(m, &clusters, 1, "mgmt", "dev", "prod1", "prod2"))
}

// fleet is a Herd server with dev, prod1 and prod2 imported, their agents
// running, labelled env=dev and env=prod.
type fleet struct {
	s     *herdtest.Server
	admin string
	herd  string
	mgmt  client.Client
	rc    *rest.Config     // the management cluster's
	local herdtest.Kubectl // the management cluster through the proxy, as admin
	// agents are the running agents by cluster; regs their credentials.
	agents map[string]*exec.Cmd
	regs   map[string][2]string
}

func newFleet(t testing.TB) *fleet {
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), t.TempDir()
	})
	f := &fleet{s: s, herd: herdtest.Build(t, "../../cmd/herd", "herd"), agents: map[string]*exec.Cmd{}, regs: map[string][2]string{}}
	f.admin = s.Login(t, "admin", herdtest.BootstrapPassword)
	f.local = s.Kubectl(t, "local", f.admin)
	rc, err := clusters.Get("mgmt").RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	f.rc = rc
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1.AddToScheme(scheme)
	if f.mgmt, err = client.New(rc, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for name := range f.agents {
			f.stopAgent(name)
		}
	})
	for _, name := range []string{"dev", "prod1", "prod2"} {
		tok, kc := herdtest.ImportCluster(t, s, f.admin, name, clusters.Get(name))
		f.regs[name] = [2]string{tok, kc}
		f.startAgent(t, name)
	}
	for name, env := range map[string]string{"dev": "dev", "prod1": "prod", "prod2": "prod"} {
		f.label(t, name, env)
	}
	return f
}

func (f *fleet) startAgent(t testing.TB, name string) {
	since := time.Now().Add(-time.Second).Truncate(time.Second)
	f.agents[name], _ = herdtest.AgentProcess(t, f.herd, f.s, f.regs[name][0], f.regs[name][1])
	herdtest.Eventually(t, "the agent of "+name+" connected", 60*time.Second, func() error {
		_, body := f.s.Do(t, "GET", "/v1/clusters/"+name, f.admin, nil)
		var c herdapi.Cluster
		if err := json.Unmarshal(body, &c); err != nil || c.Connected != "True" || c.LastSeen == nil || c.LastSeen.Before(since) {
			return fmt.Errorf("cluster %s: %s", name, body)
		}
		return nil
	})
}

func (f *fleet) stopAgent(name string) {
	if cmd := f.agents[name]; cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	delete(f.agents, name)
}

// label sets a cluster's env label as a Herd administrator does, with
// kubectl on the management cluster through Herd.
func (f *fleet) label(t testing.TB, cluster, env string) {
	f.local.Run(t, "label", "--overwrite", "clusters.management.herd.dev", cluster, "env="+env)
}

// apply applies a bundle through Herd's API as token.
func (f *fleet) apply(t testing.TB, token, name string, in herdapi.BundleApply, want int) []byte {
	t.Helper()
	code, body := f.s.Do(t, "PUT", "/v1/bundles/"+name, token, in)
	herdtest.Expect(t, "apply bundle "+name, code, body, want)
	return body
}

// bundle reads a bundle's status through Herd's API.
func (f *fleet) bundle(t testing.TB, token, name string) herdapi.Bundle {
	t.Helper()
	code, body := f.s.Do(t, "GET", "/v1/bundles/"+name, token, nil)
	herdtest.Expect(t, "get bundle "+name, code, body, http.StatusOK)
	var b herdapi.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// clusterState is one cluster's line of a bundle's status.
func clusterState(b herdapi.Bundle, cluster string) v1.BundleClusterStatus {
	for _, c := range b.Status.Clusters {
		if c.Cluster == cluster {
			return c
		}
	}
	return v1.BundleClusterStatus{}
}

// waitBundle waits until check passes on the bundle's status.
func (f *fleet) waitBundle(t testing.TB, name, what string, timeout time.Duration, check func(b herdapi.Bundle) error) herdapi.Bundle {
	t.Helper()
	var last herdapi.Bundle
	herdtest.Eventually(t, "bundle "+name+": "+what, timeout, func() error {
		last = f.bundle(t, f.admin, name)
		if err := check(last); err != nil {
			b, _ := json.Marshal(last.Status)
			return fmt.Errorf("%v; status %s", err, b)
		}
		return nil
	})
	return last
}

// down is a cluster's kubectl with its own admin credentials.
func down(cluster string) herdtest.Kubectl {
	return herdtest.Kubectl{Kubeconfig: clusters.Get(cluster).KubeconfigPath()}
}

func downKube(t testing.TB, cluster string) kubernetes.Interface {
	rc, err := clusters.Get(cluster).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

// releases is `helm list -n namespace` in a cluster: name -> revision.
func releases(t testing.TB, cluster, namespace string) map[string]int {
	t.Helper()
	kubeconfig := clusters.Get(cluster).KubeconfigPath()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &kubeconfig, &namespace
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	list, err := action.NewList(cfg).Run()
	if err != nil {
		t.Fatalf("helm list in %s: %v", cluster, err)
	}
	out := map[string]int{}
	for _, r := range list {
		if rel, ok := r.(*releasev1.Release); ok {
			out[rel.Name] = rel.Version
		}
	}
	return out
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
