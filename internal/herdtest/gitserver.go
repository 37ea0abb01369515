package herdtest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitHTTPBackend is Debian's git smart HTTP server (a CGI program).
const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// GitServer is one Git repository served over HTTP on loopback by the real
// `git http-backend`, behind basic authentication, with a work tree to
// commit to.
type GitServer struct {
	// URL is the repository's clone URL.
	URL string
	// Username and Password are what the server accepts.
	Username, Password string

	work string
	srv  *http.Server
}

// StartGitServer serves a new, empty repository (branch main) until the
// test ends.
func StartGitServer(t testing.TB, username, password string) *GitServer {
	t.Helper()
	if _, err := os.Stat(gitHTTPBackend); err != nil {
		t.Fatalf("git http-backend is missing (Debian's git; make test installs it): %v", err)
	}
	root := t.TempDir()
	bare := filepath.Join(root, "srv", "repo.git")
	g := &GitServer{Username: username, Password: password, work: filepath.Join(root, "work")}
	g.git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	g.git(t, "", "init", "--quiet", "--initial-branch=main", g.work)
	g.git(t, g.work, "remote", "add", "origin", bare)
	backend := &cgi.Handler{Path: gitHTTPBackend, Env: []string{"GIT_PROJECT_ROOT=" + filepath.Join(root, "srv"), "GIT_HTTP_EXPORT_ALL=1"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})}
	go func() { _ = g.srv.Serve(ln) }()
	t.Cleanup(func() { _ = g.srv.Close() })
	g.URL = "http://" + ln.Addr().String() + "/repo.git"
	return g
}

// Commit writes files (path: content; "" deletes the file) to the work
// tree, commits them on main and pushes; it returns the commit's hash.
func (g *GitServer) Commit(t testing.TB, message string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(g.work, filepath.FromSlash(name))
		if content == "" {
			_ = os.Remove(path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g.git(t, g.work, "add", "-A")
	g.git(t, g.work, "-c", "user.name=Herd Test", "-c", "user.email=test@herd.invalid", "commit", "--quiet", "--allow-empty", "-m", message)
	g.git(t, g.work, "push", "--quiet", "origin", "main")
	return strings.TrimSpace(g.git(t, g.work, "rev-parse", "HEAD"))
}

// Tag tags the last commit and pushes the tag.
func (g *GitServer) Tag(t testing.TB, name string) {
	t.Helper()
	g.git(t, g.work, "tag", "-f", name)
	g.git(t, g.work, "push", "--quiet", "-f", "origin", name)
}

func (g *GitServer) git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "HOME="+filepath.Dir(g.work))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
