package herdtest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd.dev/herd/internal/certs"
)

// S3 is a real S3 server on loopback for a test: Versity's S3 gateway
// (hack/s3 pins it; built from Go modules) with its posix backend over a
// temporary folder, speaking HTTPS with a certificate of its own CA.
type S3 struct {
	// Endpoint is host:port; CAPEM the CA its certificate is signed by.
	Endpoint string
	CAPEM    string
	// AccessKey and SecretKey are its root user's.
	AccessKey, SecretKey string
	// Dir is the folder it serves: one subfolder per bucket.
	Dir string
}

// StartS3 builds (once per source tree, into _output/tools) and starts
// the S3 server until the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin, err := buildS3Server()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &S3{Dir: filepath.Join(dir, "buckets"), AccessKey: "herdtest", SecretKey: rand.Text()}
	for _, d := range []string{s.Dir, filepath.Join(dir, "meta")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "herdtest S3 CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "s3.crt"), filepath.Join(dir, "s3.key")
	if err := ca.EnsureLeaf(cert, key, certs.Leaf{CommonName: "127.0.0.1", Server: true, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	s.CAPEM = string(caPEM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Endpoint = ln.Addr().String()
	_ = ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "s3.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", s.Endpoint, "--cert", cert, "--key", key, "--quiet",
		"posix", "--sidecar", filepath.Join(dir, "meta"), s.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	if err := s.waitReady(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "s3.log"))
		t.Fatalf("S3 server: %v\n%s", err, log)
	}
	return s
}

// waitReady waits until the server answers HTTPS.
func (s *S3) waitReady() error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(s.CAPEM))
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := c.Get("https://" + s.Endpoint + "/")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("not answering after 30s: %w", last)
}

// MakeBucket creates a bucket (a folder of the posix backend).
func (s *S3) MakeBucket(t testing.TB, name string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(s.Dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
}

// buildS3Server builds the S3 server of hack/s3 into _output/tools of
// the source tree (go build's cache makes a second build cheap).
func buildS3Server() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	out := filepath.Join(root, "_output", "tools", "versitygw")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d", out, os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", tmp, "github.com/versity/versitygw/cmd/versitygw")
	build.Dir = filepath.Join(root, "hack", "s3")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the S3 server (hack/s3): %v\n%s", err, b)
	}
	return out, os.Rename(tmp, out)
}
