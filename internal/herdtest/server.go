package herdtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"herd.dev/herd/internal/server"
)

// BootstrapPassword is the admin password of servers from NewServer.
const BootstrapPassword = "herd-test-bootstrap-password"

// WithoutServerURL, as Config.ServerURL, makes NewServer start a server
// with no --server-url (NewServer otherwise sets it to the server's address).
const WithoutServerURL = "-"

// Server is a Herd server run by a test.
type Server struct {
	*server.Server
	// URL is https://ADDR.
	URL string
	// Client trusts the server's CA.
	Client *http.Client
	// Logs holds everything the server logged.
	Logs *SyncBuffer
	stop func()
}

// NewServer runs a Herd server until the test ends. It listens on a free
// loopback port, logs into Logs and has the admin password
// BootstrapPassword; mod changes the configuration (for example to set
// Kubeconfig, so no embedded management cluster is started).
func NewServer(t testing.TB, mod func(*server.Config)) *Server {
	t.Helper()
	logs := &SyncBuffer{}
	quietProcessLoggers()
	cfg := server.Config{
		DataDir:           t.TempDir(),
		Listen:            "127.0.0.1:0",
		Logger:            slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BootstrapPassword: BootstrapPassword,
		LeaseDuration:     3 * time.Second,
		TokenUseFlush:     200 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	if cfg.Listener == nil {
		// Listen here, so the server URL (which browser logins need) is
		// known before the server starts.
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listener = ln
	}
	switch cfg.ServerURL {
	case "":
		cfg.ServerURL = "https://" + cfg.Listener.Addr().String()
	case WithoutServerURL:
		cfg.ServerURL = ""
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, started) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	case <-time.After(3 * time.Minute):
		cancel()
		<-done
		t.Fatal("server did not start within 3 minutes")
	}
	ts := &Server{Server: s, URL: "https://" + s.Addr().String(), Logs: logs}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	ts.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server run: %v", err)
			}
			ts.Client.CloseIdleConnections()
		})
	}
	t.Cleanup(ts.stop)
	LogOnFailure(t, "server", logs.String)
	return ts
}

// LogOnFailure prints, if t has failed by its end, the last warnings and
// errors of a log, and keeps the whole log (keepLog).
func LogOnFailure(t testing.TB, what string, log func() string) {
	t.Cleanup(func() {
		if t.Failed() {
			text := log()
			t.Logf("%s log (warnings and errors):\n%s", what, importantLines(text, 40))
			keepLog(t, what, text)
		}
	})
}

// keepLog writes a failed test's whole log of what into the folder
// HERD_TEST_LOGS names, when it is set, for a look after the run.
func keepLog(t testing.TB, what, log string) {
	dir := os.Getenv("HERD_TEST_LOGS")
	if dir == "" {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + what + ".log"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(log), 0o644); err == nil {
			t.Logf("whole %s log: %s", what, filepath.Join(dir, name))
		}
	}
}

// importantLines returns the last n lines of a JSON log at level WARN or ERROR.
func importantLines(log string, n int) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) ||
			strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// Stop stops the server; it is also stopped when the test ends.
func (s *Server) Stop() { s.stop() }

// Do sends a request with an optional bearer token and JSON body (a
// string is sent as is) and returns the status and response body.
func (s *Server) Do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	resp, data := s.DoResponse(t, method, path, token, body)
	return resp.StatusCode, data
}

// DoResponse is Do that also returns the response (its body is read).
func (s *Server) DoResponse(t testing.TB, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// Login logs in and returns the token, failing the test otherwise.
func (s *Server) Login(t testing.TB, username, password string) string {
	t.Helper()
	code, body := s.Do(t, "POST", "/v1/login", "", map[string]string{"username": username, "password": password})
	if code != http.StatusCreated {
		t.Fatalf("login %s: got %d %s", username, code, body)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		t.Fatalf("login %s: no token in %s", username, body)
	}
	return out.Token
}

// SyncBuffer is a bytes.Buffer safe for concurrent use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Expect fails the test unless code is want, showing the body.
func Expect(t testing.TB, what string, code int, body []byte, want int) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: got %d %s, want %d", what, code, body, want)
	}
}

var processLoggers sync.Once

// quietProcessLoggers points controller-runtime's process-wide logger
// somewhere, once, as cmd/herd does, so it does not complain in tests.
func quietProcessLoggers() {
	processLoggers.Do(func() { ctrllog.SetLogger(logr.Discard()) })
}
