package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestConsoleProvisioned: for a cluster Herd provisioned (one machine of
// the local machine driver with every role), the console shows its
// machines and upgrade, takes an etcd snapshot and lists it, and shows why
// an upgrade is refused.
func TestConsoleProvisioned(t *testing.T) {
	dataDir := t.TempDir()
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig, c.DataDir = clusters.Get("mgmt").KubeconfigPath(), dataDir
		c.HerdBinary, c.MachineSubnet, c.LocalStopWithServer = herd, "127.0.19", true
	})
	t.Cleanup(func() {
		for _, pid := range herdtest.ProcessesMentioning(filepath.Join(dataDir, "machines")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "made", KubernetesVersion: "v1.37.2",
		MachinePools: []herdapi.MachinePool{{Name: "all", Quantity: 1, Roles: []string{"etcd", "control-plane", "worker"}}}})
	herdtest.Expect(t, "create a provisioned cluster", code, body, http.StatusCreated)
	t.Cleanup(func() { s.Do(t, "DELETE", "/v1/clusters/made?force=true", admin, nil) })

	tab := herdtest.StartBrowser(t).NewTab(t)
	tab.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	login(t, tab, "admin", herdtest.BootstrapPassword)
	tab.Do(t, wait, "the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="made"]`)))
	// The list updates by itself as the machine comes up.
	tab.WaitText(t, `tr[data-cluster="made"] .state .badge.ok`, "Connected", 4*time.Minute)
	tab.Screenshot(t, "provisioned-list")

	tab.Do(t, wait, "the machines", goTo("#/clusters/made/machines"), chromedp.WaitVisible(chromedp.CSS("#upgrade")))
	tab.WaitText(t, "#tab table", "made-all-1", wait)
	tab.Do(t, wait, "an upgrade to a version Herd does not have",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#upgrade-version').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#upgrade-version"), "v1.99.0"), chromedp.Click(chromedp.CSS("#upgrade-submit")),
		chromedp.WaitVisible(chromedp.CSS("#upgrade .error")))
	refusal := tab.WaitText(t, "#upgrade .error", "v1.99.0", wait)
	tab.Screenshot(t, "machines")
	if c := getCluster(t, s, admin, "made"); c.KubernetesVersion != "v1.37.2" {
		t.Errorf("after the refused upgrade (%q) the cluster is to run %s", refusal, c.KubernetesVersion)
	}

	tab.Do(t, wait, "the snapshots", goTo("#/clusters/made/snapshots"), chromedp.WaitVisible(chromedp.CSS("#tab button.plain")))
	tab.Do(t, wait, "take a snapshot", chromedp.Click(chromedp.CSS("#tab button.plain")))
	herdtest.Eventually(t, "the snapshot listed as Succeeded", 2*time.Minute, func() error {
		tab.Do(t, wait, "the snapshots", goTo("#/clusters/made/nodes"), goTo("#/clusters/made/snapshots"), chromedp.WaitVisible(chromedp.CSS("#tab button.plain")))
		text := herdtest.Eval[string](t, tab, `document.querySelector('#tab').textContent`)
		if !strings.Contains(text, "Succeeded") {
			return fmt.Errorf("snapshots: %s", text)
		}
		return nil
	})
	tab.Screenshot(t, "snapshots")
}

func getCluster(t *testing.T, s *herdtest.Server, token, name string) herdapi.Cluster {
	t.Helper()
	code, body := s.Do(t, "GET", "/v1/clusters/"+name, token, nil)
	herdtest.Expect(t, "cluster "+name, code, body, http.StatusOK)
	var c herdapi.Cluster
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
