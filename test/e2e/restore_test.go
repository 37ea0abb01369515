package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// checkRestore: ConfigMap A, a snapshot (stored in a real S3 server too,
// once its key is right: with a wrong one the snapshot fails saying so),
// ConfigMap B, the etcd machine's local snapshots deleted, a restore: it
// takes the snapshot from S3, B is gone, A is there, and an informer
// started before the restore (through Herd) ends with the restored set. Restores of a snapshot the cluster
// does not have, or one not taken, are refused; the history lists the
// restore with its steps' end.
func checkRestore(t *testing.T, e *env, k herdtest.Kubectl) {
	k.Run(t, "create", "configmap", "a-before", "--from-literal=k=v")
	s3 := herdtest.StartS3(t)
	s3.MakeBucket(t, "snaps")
	store := herdapi.EtcdS3{Endpoint: s3.Endpoint, Bucket: "snaps", Folder: "clusters/" + e.cluster, EndpointCA: s3.CAPEM,
		AccessKey: s3.AccessKey, SecretKey: "not-the-key"}
	code, body := e.s.Do(t, "PUT", "/v1/clusters/"+e.cluster+"/etcd/s3", e.admin, store)
	herdtest.Expect(t, "set the S3 store with a wrong key", code, body, http.StatusOK)
	if strings.Contains(string(body), "not-the-key") {
		t.Errorf("the secret key was answered: %s", body)
	}
	if failed := saveSnapshot(t, e, "Failed"); !strings.Contains(failed.Message, "refused the credentials") {
		t.Errorf("a snapshot with S3 refusing the key: %q, want it to say so", failed.Message)
	}
	store.SecretKey = s3.SecretKey
	code, body = e.s.Do(t, "PUT", "/v1/clusters/"+e.cluster+"/etcd/s3", e.admin, store)
	herdtest.Expect(t, "set the S3 store", code, body, http.StatusOK)
	taken := saveSnapshot(t, e, "Succeeded")
	snap := taken.Name
	if want := "s3://snaps/clusters/" + e.cluster + "/" + snap + ".db"; taken.S3Location != want {
		t.Errorf("snapshot in S3 at %q, want %q", taken.S3Location, want)
	}
	if fi, err := os.Stat(filepath.Join(s3.Dir, "snaps", "clusters", e.cluster, snap+".db")); err != nil || fi.Size() != taken.Size {
		t.Errorf("the snapshot in the bucket: %v (size %d, want %d)", err, fi.Size(), taken.Size)
	}
	k.Run(t, "create", "configmap", "b-after", "--from-literal=k=v")

	names := startConfigMapInformer(t, k)
	herdtest.Eventually(t, "the informer sees a-before and b-after", 30*time.Second, func() error {
		if got := names(); !slices.Contains(got, "a-before") || !slices.Contains(got, "b-after") {
			return fmt.Errorf("informer: %v", got)
		}
		return nil
	})

	for _, bad := range []struct{ snapshot, want string }{
		{"no-such-snapshot", "has no etcd snapshot"},
		{"", "has no etcd snapshot"},
	} {
		code, body := e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: bad.snapshot})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), bad.want) {
			t.Errorf("restore from %q: %d %s, want 422 saying %q", bad.snapshot, code, body, bad.want)
		}
	}

	// The etcd machine loses its copies: the restore takes it from S3.
	if err := os.RemoveAll(filepath.Join(e.dataDir, "machines", e.cluster, taken.Machine, "root", "snapshots")); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	code, body = e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: snap})
	herdtest.Expect(t, "restore from "+snap, code, body, http.StatusCreated)
	var r herdapi.EtcdRestore
	if err := decode(body, &r); err != nil {
		t.Fatal(err)
	}
	code, body = e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: snap})
	if code != http.StatusConflict || !strings.Contains(string(body), "one restore runs at a time") {
		t.Errorf("a second restore while one runs: %d %s, want 409", code, body)
	}
	code, body = e.s.Do(t, "PUT", "/v1/clusters/"+e.cluster+"/kubernetes-version", e.admin, herdapi.ClusterUpgrade{KubernetesVersion: currentVersion})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "has not ended") {
		t.Errorf("an upgrade while a restore runs: %d %s, want 422", code, body)
	}
	waitRestore(t, e, r.Name)
	t.Logf("restore of snapshot %s: %s until the kube-apiserver answered again", snap, time.Since(begin).Round(100*time.Millisecond))
	herdtest.Eventually(t, "the cluster answers from the snapshot", 2*time.Minute, func() error {
		out, errOut, err := k.Exec("get", "configmaps", "-o", "name")
		if err != nil {
			return fmt.Errorf("%v %s", err, errOut)
		}
		if !strings.Contains(out, "configmap/a-before") || strings.Contains(out, "configmap/b-after") {
			return fmt.Errorf("configmaps: %s", out)
		}
		return nil
	})
	herdtest.Eventually(t, "the informer from before the restore lists again and ends with the restored set", 2*time.Minute, func() error {
		if got := names(); !slices.Contains(got, "a-before") || slices.Contains(got, "b-after") {
			return fmt.Errorf("informer: %v", got)
		}
		return nil
	})
	connected := func(what string) {
		herdtest.Eventually(t, "the cluster provisioned and connected "+what, 2*time.Minute, func() error {
			if got, c := provisioned(t, e), cluster(t, e); !strings.HasPrefix(got, "True") || c.Connected != "True" {
				mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
				out, _, _ := mgmt.Exec("get", "machines.management.herd.dev", "-o", "jsonpath={range .items[*]}{.spec.hostname}: {.status.output}{\"\\n\"}{end}")
				return fmt.Errorf("provisioned %q, connected %s; machines' output:\n%s", got, c.Connected, tail(out, 20))
			}
			return nil
		})
	}
	connected("after the restore")

	// A corrupt snapshot: the restore fails saying so, and the cluster
	// runs on as it was.
	k.Run(t, "create", "configmap", "c-kept", "--from-literal=k=v")
	bad := saveSnapshot(t, e, "Succeeded")
	file := filepath.Join(e.dataDir, "machines", e.cluster, bad.Machine, "root", "snapshots", bad.Name+".db")
	if err := os.WriteFile(file, []byte("not an etcd snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body = e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: bad.Name})
	herdtest.Expect(t, "restore from a corrupt snapshot", code, body, http.StatusCreated)
	if err := decode(body, &r); err != nil {
		t.Fatal(err)
	}
	herdtest.Eventually(t, "the restore from a corrupt snapshot failed", 3*time.Minute, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, nil)
		var list herdapi.EtcdRestoreList
		if err := decode(body, &list); err != nil {
			return err
		}
		for _, x := range list.Items {
			if x.Name == r.Name && x.Phase == "Failed" && strings.Contains(x.Message, "is corrupt") {
				return nil
			}
		}
		return fmt.Errorf("restores: %s", body)
	})
	connected("after the failed restore")
	if out := k.Run(t, "get", "configmaps", "-o", "name"); !strings.Contains(out, "configmap/c-kept") || !strings.Contains(out, "configmap/a-before") {
		t.Errorf("after a failed restore the cluster is not as it was: %s", out)
	}
}

// saveSnapshot takes a snapshot of e's cluster and returns it once it is
// in phase.
func saveSnapshot(t testing.TB, e *env, phase string) herdapi.EtcdSnapshot {
	t.Helper()
	code, body := e.s.Do(t, "POST", "/v1/clusters/"+e.cluster+"/etcd/snapshots", e.admin, nil)
	herdtest.Expect(t, "save a snapshot", code, body, http.StatusCreated)
	var snap herdapi.EtcdSnapshot
	if err := decode(body, &snap); err != nil {
		t.Fatal(err)
	}
	herdtest.Eventually(t, "snapshot "+snap.Name+" "+phase, 2*time.Minute, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/etcd/snapshots", e.admin, nil)
		var list herdapi.EtcdSnapshotList
		if err := decode(body, &list); err != nil {
			return err
		}
		for _, s := range list.Items {
			if s.Name == snap.Name && s.Phase == phase {
				snap = s
				return nil
			}
		}
		return fmt.Errorf("snapshots: %s", body)
	})
	return snap
}

// startConfigMapInformer runs an informer of the default namespace's
// ConfigMaps, through k's kubeconfig, until the test ends; names lists
// what its store holds.
func startConfigMapInformer(t *testing.T, k herdtest.Kubectl) (names func() []string) {
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace("default"))
	inf := f.Core().V1().ConfigMaps().Informer()
	f.Start(ctx.Done())
	t.Cleanup(func() { cancel(); f.Shutdown() })
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the ConfigMap informer did not sync")
	}
	return func() []string {
		var out []string
		for _, o := range inf.GetStore().List() {
			out = append(out, o.(*corev1.ConfigMap).Name)
		}
		slices.Sort(out)
		return out
	}
}

// waitRestore waits until restore name of e's cluster succeeded.
func waitRestore(t testing.TB, e *env, name string) {
	t.Helper()
	herdtest.Eventually(t, "restore "+name+" succeeded", 4*time.Minute, func() error {
		_, body := e.s.Do(t, "GET", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, nil)
		var list herdapi.EtcdRestoreList
		if err := decode(body, &list); err != nil {
			return err
		}
		for _, x := range list.Items {
			if x.Name == name {
				if x.Phase == "Failed" {
					t.Fatalf("restore failed: %s", x.Message)
				}
				if x.Phase != "Succeeded" || x.StartedAt == nil || x.FinishedAt == nil {
					return fmt.Errorf("%s %s: %s", x.Phase, x.Step, x.Message)
				}
				return nil
			}
		}
		return fmt.Errorf("restore %s not listed: %s", name, body)
	})
}
