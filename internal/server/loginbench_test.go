package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/server"
)

// BenchmarkConcurrentLogins sends 400 concurrent password logins of
// unknown users (from another process, over 20 source addresses so that
// the per-address limit does not answer them first) and reports the growth
// of the server's resident memory at its peak and the latency of /healthz
// meanwhile: the password checks are bounded (each argon2id check holds
// 19 MiB), so the server keeps its memory and keeps answering.
func BenchmarkConcurrentLogins(b *testing.B) {
	s := onMgmt(b, func(c *server.Config) { c.LoginFailureLimit = 100 })
	ca := filepath.Join(b.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, s.CABundle(), 0o600); err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	loginBurst(b, s.URL, ca, pool, 20) // warm up: caches, first allocations
	var growth int64
	var latencies []time.Duration
	codes := map[int]int{}
	b.ResetTimer()
	for range b.N {
		g, l, c := loginBurst(b, s.URL, ca, pool, 400)
		growth = max(growth, g)
		latencies = append(latencies, l...)
		for k, v := range c {
			codes[k] += v
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(growth)/(1<<20), "MB-peak-growth")
	b.ReportMetric(float64(percentile(latencies, 0.5).Microseconds())/1000, "ms-healthz-p50")
	b.ReportMetric(float64(percentile(latencies, 0.9).Microseconds())/1000, "ms-healthz-p90")
	b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds())/1000, "ms-healthz-p99")
	if os.Getenv("HERD_BENCH_DEBUG") != "" {
		b.Logf("latencies %v", latencies)
	}
	b.ReportMetric(float64(percentile(latencies, 1).Microseconds())/1000, "ms-healthz-max")
	b.ReportMetric(float64(codes[http.StatusUnauthorized])/float64(b.N), "checked/op")
	b.ReportMetric(float64(codes[http.StatusServiceUnavailable])/float64(b.N), "busy-503/op")
	if other := b.N*400 - codes[http.StatusUnauthorized] - codes[http.StatusServiceUnavailable]; other != 0 {
		b.Errorf("answers %v: want only 401 (checked) and 503 (no check slot)", codes)
	}
}

// loginBurst runs n logins from a child process (this test binary, see
// loginLoad) and returns the peak growth of this process's resident memory
// (the server's), the /healthz latencies meanwhile and the answers.
func loginBurst(tb testing.TB, url, ca string, pool *x509.CertPool, n int) (int64, []time.Duration, map[int]int) {
	health := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer health.CloseIdleConnections()
	base := rss(tb)
	var peak atomic.Int64
	done := make(chan struct{})
	var probes sync.WaitGroup
	var latencies []time.Duration
	probes.Go(func() { // memory
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if r := rss(tb); r > peak.Load() {
				peak.Store(r)
			}
		}
	})
	probes.Go(func() { // /healthz
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			resp, err := health.Get(url + "/healthz")
			if err != nil {
				tb.Error(err)
				return
			}
			resp.Body.Close()
			latencies = append(latencies, time.Since(start))
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loginLoadEnv+"="+url+" "+ca+" "+strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	close(done)
	probes.Wait()
	if err != nil {
		tb.Fatalf("login load: %v", err)
	}
	codes := map[int]int{}
	if err := json.Unmarshal(out, &codes); err != nil {
		tb.Fatalf("login load answered %q: %v", out, err)
	}
	return peak.Load() - base, latencies, codes
}

// loginLoadEnv makes this test binary a login load generator (TestMain):
// "URL CAFILE N".
const loginLoadEnv = "HERD_TEST_LOGIN_LOAD"

// loginLoad sends the logins loginLoadEnv asks for, at once, and prints
// the answers by status as JSON.
func loginLoad(spec string) int {
	var url, ca string
	var n int
	if _, err := fmt.Sscan(spec, &url, &ca, &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	clients := make([]*http.Client, 20)
	for i := range clients {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+i))}}
		clients[i] = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: d.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: n}}
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"username": "unknown-%d", "password": "some-password-%d"}`, i, i)
			resp, err := clients[i%len(clients)].Post(url+"/v1/login", "application/json", strings.NewReader(body))
			code := 0
			if err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	_ = json.NewEncoder(os.Stdout).Encode(codes)
	return 0
}

// rss is the resident memory of this process in bytes.
func rss(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
