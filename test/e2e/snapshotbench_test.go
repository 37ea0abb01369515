package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// BenchmarkEtcdSnapshot provisions a one-machine cluster, writes 10,000
// ConfigMaps (1 KiB each) through Herd, and reports the time from the
// snapshot request to Succeeded, the snapshot's size, and the time from
// the restore request to Succeeded (the 10,000 there again after).
func BenchmarkEtcdSnapshot(b *testing.B) {
	const configMaps = 10000
	e := poolsEnv(b, "127.0.12", "snapbench")
	s := e.s
	code, body := s.Do(b, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: e.cluster, KubernetesVersion: currentVersion,
		MachinePools: []herdapi.MachinePool{{Name: "all", Quantity: 1, Roles: []string{"etcd", "control-plane", "worker"}}}})
	herdtest.Expect(b, "create", code, body, http.StatusCreated)
	herdtest.Eventually(b, "provisioned and connected", 4*time.Minute, func() error {
		if c := cluster(b, e); c.Connected != "True" || !strings.HasPrefix(provisioned(b, e), "True") {
			return fmt.Errorf("not yet: %s", provisioned(b, e))
		}
		return nil
	})
	k := e.kubectl(b, e.admin)
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	createConfigMaps(b, kube, configMaps)

	var save, restore time.Duration
	var size int64
	for range b.N {
		start := time.Now()
		snap := saveSnapshot(b, e, "Succeeded")
		save += time.Since(start)
		size = snap.Size
		start = time.Now()
		code, body := s.Do(b, "POST", "/v1/clusters/"+e.cluster+"/etcd/restores", e.admin, herdapi.EtcdRestoreRequest{Snapshot: snap.Name})
		herdtest.Expect(b, "restore", code, body, http.StatusCreated)
		var r herdapi.EtcdRestore
		if err := decode(body, &r); err != nil {
			b.Fatal(err)
		}
		waitRestore(b, e, r.Name)
		restore += time.Since(start)
	}
	herdtest.Eventually(b, "the ConfigMaps there after the restore", 2*time.Minute, func() error {
		list, err := kube.CoreV1().ConfigMaps("bench").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		n := 0
		for _, cm := range list.Items {
			if strings.HasPrefix(cm.Name, "cm-") {
				n++
			}
		}
		if n != configMaps {
			return fmt.Errorf("%d ConfigMaps", n)
		}
		return nil
	})
	b.ReportMetric(save.Seconds()/float64(b.N), "s-to-save")
	b.ReportMetric(restore.Seconds()/float64(b.N), "s-to-restore")
	b.ReportMetric(float64(size)/(1<<20), "MiB-snapshot")
	s.Do(b, "DELETE", "/v1/clusters/"+e.cluster+"?force=true", e.admin, nil)
}

// createConfigMaps writes n ConfigMaps of 1 KiB into namespace bench, 32
// at a time.
func createConfigMaps(b *testing.B, kube kubernetes.Interface, n int) {
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("x", 1024)
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for range 32 {
		wg.Go(func() {
			for i := range work {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)}, Data: map[string]string{"v": value}}
				if _, err := kube.CoreV1().ConfigMaps("bench").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}
