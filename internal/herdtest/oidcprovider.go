package herdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// OIDCUser is a user of the test OpenID provider.
type OIDCUser struct {
	ID       string   `json:"id"` // the subject
	Username string   `json:"username"`
	Password string   `json:"password"`
	Email    string   `json:"email"`
	First    string   `json:"firstName"`
	Last     string   `json:"lastName"`
	Groups   []string `json:"groups"`
}

// OIDCClient is a confidential client registered at the test provider. It
// accepts any redirect URL on 127.0.0.1 or localhost, with any port.
type OIDCClient struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	// IDTokenClaims: the ID token has the profile and email claims too;
	// without it, as the spec has it when an access token is issued, they
	// are only at the userinfo endpoint (groups are in both).
	IDTokenClaims    bool     `json:"idTokenClaims"`
	RedirectURIGlobs []string `json:"redirectURIGlobs"`
}

// OIDCProvider is a real OpenID Connect provider (ZITADEL's certified
// example server, from hack/oidc-provider) run as a process for one test.
type OIDCProvider struct {
	// Issuer is http://127.0.0.1:PORT.
	Issuer string
	// Client keeps profile claims out of the ID token (userinfo has them);
	// IDTokenClient puts them in the ID token.
	Client, IDTokenClient OIDCClient
	// Users: alice (groups devs, ops), bob (no groups), carol (groups
	// devs, "team a/b").
	Users []OIDCUser
	// Dir holds the config, the log, and nothing else of other tests.
	Dir string

	cmd    *exec.Cmd
	exited chan struct{}
	stop   sync.Once
}

// StartOIDCProvider builds hack/oidc-provider (a few seconds, more the
// first time on a machine) and runs it until the test ends.
func StartOIDCProvider(t testing.TB) *OIDCProvider {
	t.Helper()
	exe := buildOIDCProvider(t)
	globs := []string{"http://127.0.0.1:*/**", "http://localhost:*/**", "https://127.0.0.1:*/**", "https://localhost:*/**"}
	p := &OIDCProvider{
		Client:        OIDCClient{ID: "herd", Secret: "herd-client-secret", RedirectURIGlobs: globs},
		IDTokenClient: OIDCClient{ID: "herd-idtoken", Secret: "herd-idtoken-secret", IDTokenClaims: true, RedirectURIGlobs: globs},
		Users: []OIDCUser{
			{ID: "u-alice", Username: "alice", Password: "alice-password", Email: "alice@example.test", First: "Alice", Last: "Liddell", Groups: []string{"ops", "devs"}},
			{ID: "u-bob", Username: "bob", Password: "bob-password", Email: "bob@example.test", First: "Bob", Last: "Builder"},
			{ID: "u-carol", Username: "carol", Password: "carol-password", Email: "carol@example.test", First: "Carol", Last: "Danvers", Groups: []string{"devs", "team a/b"}},
		},
		Dir:    t.TempDir(),
		exited: make(chan struct{}),
	}
	cfg, err := json.Marshal(map[string]any{"clients": []OIDCClient{p.Client, p.IDTokenClient}, "users": p.Users})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile, ready, logFile := filepath.Join(p.Dir, "config.json"), filepath.Join(p.Dir, "issuer"), filepath.Join(p.Dir, "provider.log")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(exe, "-config", cfgFile, "-ready-file", ready, "-listen", "127.0.0.1:0")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(logFile)
			t.Logf("OIDC provider log (tail):\n%s", oidcLogTail(string(log), 30))
		}
	})
	if p.Issuer, err = waitReady(ready, p.exited, 30*time.Second); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("OIDC provider: %v\n%s", err, log)
	}
	return p
}

// Stop kills the provider and waits for it to exit; it is also called
// when the test ends.
func (p *OIDCProvider) Stop() {
	p.stop.Do(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
}

// User returns the user with that name.
func (p *OIDCProvider) User(t testing.TB, username string) OIDCUser {
	t.Helper()
	for _, u := range p.Users {
		if u.Username == username {
			return u
		}
	}
	t.Fatalf("no OIDC test user %q", username)
	return OIDCUser{}
}

func waitReady(file string, exited <-chan struct{}, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(file); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		select {
		case <-exited:
			return "", errors.New("exited before serving")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("not serving after %v", timeout)
}

// buildOIDCProvider builds the separate module hack/oidc-provider, found
// above the test's folder, into the test's temporary folder.
func buildOIDCProvider(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "oidc-provider", "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("hack/oidc-provider not found above the test's folder")
		}
		dir = parent
	}
	exe := filepath.Join(t.TempDir(), "oidc-provider")
	cmd := exec.Command("go", "build", "-o", exe, ".")
	cmd.Dir = filepath.Join(dir, "hack", "oidc-provider")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build hack/oidc-provider: %v\n%s", err, out)
	}
	return exe
}

func oidcLogTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
