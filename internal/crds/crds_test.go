package crds_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	herdv1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/crds"
	"herd.dev/herd/internal/herdtest"
)

var clusters *herdtest.Clusters

func TestMain(m *testing.M) { os.Exit(herdtest.RunWithClusters(m, &clusters, 0, "mgmt")) }

func TestInstall(t *testing.T) {
	c := clusters.Get("mgmt")
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range 2 { // the second install is the upgrade path: it must be a no-op
		if err := crds.Install(ctx, cfg); err != nil {
			t.Fatalf("install %d: %v", i+1, err)
		}
	}
	list, err := crds.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 11 {
		t.Errorf("got %d CRDs, want at least 11", len(list))
	}

	scheme := runtime.NewScheme()
	if err := herdv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	want := &herdv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c-test"}, Spec: herdv1.ClusterSpec{DisplayName: "Test cluster"}}
	if err := cl.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	got := &herdv1.Cluster{}
	if err := cl.Get(ctx, client.ObjectKey{Name: "c-test"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.DisplayName != "Test cluster" {
		t.Errorf("display name: got %q, want %q", got.Spec.DisplayName, "Test cluster")
	}

	k := herdtest.Kubectl{Kubeconfig: c.KubeconfigPath()}
	header := strings.Fields(strings.SplitN(k.Run(t, "get", "clusters.management.herd.dev"), "\n", 2)[0])
	if got, want := strings.Join(header, " "), "NAME DISPLAY NAME CONNECTED READY AGENTS VERSION NODES CPU MEMORY PODS AGE"; got != want {
		t.Errorf("kubectl get clusters columns: got %q, want %q", got, want)
	}

	t.Run("schema rejects bad objects", func(t *testing.T) {
		bad := []struct{ name, yaml, want string }{
			{"unknown token kind", `apiVersion: management.herd.dev/v1
kind: Token
metadata: {name: t-bad}
spec: {userName: u, kind: forever, hash: x, expiresAt: "2030-01-01T00:00:00Z", enabled: true}`, "Unsupported value"},
			{"unknown field", `apiVersion: management.herd.dev/v1
kind: Cluster
metadata: {name: c-bad}
spec: {displayName: x, colour: red}`, "unknown field"},
			{"missing cluster of a binding", `apiVersion: management.herd.dev/v1
kind: ClusterRoleTemplateBinding
metadata: {name: b-bad}
spec: {roleTemplateName: r, subject: {userName: u}}`, "clusterName"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, errOut, err := k.ExecStdin(tt.yaml, "apply", "-f", "-")
				if err == nil || !strings.Contains(errOut, tt.want) {
					t.Errorf("apply: err=%v stderr=%q, want a rejection that says %q", err, errOut, tt.want)
				}
			})
		}
	})
}
