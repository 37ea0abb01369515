package console

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// BenchmarkConsoleClusterList measures a full load of the console in
// Chromium over loopback, logged in: from navigation to the cluster list
// on screen (the page, its script and style, the session and the list).
func BenchmarkConsoleClusterList(b *testing.B) {
	s := herdtest.NewServer(b, func(c *server.Config) { c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath() })
	admin := s.Login(b, "admin", herdtest.BootstrapPassword)
	for i := range 20 {
		code, body := s.Do(b, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: fmt.Sprintf("bench-%02d", i)})
		if code != http.StatusConflict { // made by an earlier round of the benchmark
			herdtest.Expect(b, "create a cluster", code, body, http.StatusCreated)
		}
	}
	tab := herdtest.StartBrowser(b).NewTab(b)
	tab.Do(b, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	tab.Do(b, wait, "log in",
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"), chromedp.SendKeys(chromedp.CSS("#password"), herdtest.BootstrapPassword),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="bench-19"]`)))
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		tab.Do(b, wait, "load the cluster list", chromedp.Navigate(fmt.Sprintf("%s/?load=%d#/clusters", s.URL, i)),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="bench-19"]`)))
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/load")
}
