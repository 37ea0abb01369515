// Package terminal is the web console's kubectl terminal: each line the
// user sends runs the real kubectl, as that user, against one cluster
// through Herd's own proxy, with a token minted for the terminal. No shell
// and no pod run: kubectl runs on the server with an empty environment in
// an empty temporary directory, one command at a time, for a bounded time
// and output, and only the commands and flags Check allows.
package terminal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Config configures the terminal. Zero values take the defaults.
type Config struct {
	// Kubectl is the kubectl binary. Required to serve terminals.
	Kubectl string
	// MaxSessions bounds the terminals open at once. Zero: 32.
	MaxSessions int
	// CommandTimeout ends a command that runs longer. Zero: 10 minutes.
	CommandTimeout time.Duration
	// MaxOutput ends a command that writes more. Zero: 4 MiB.
	MaxOutput int
	// IdleTimeout closes a terminal whose user sends nothing for that
	// long, even while a command runs. Zero: 30 minutes.
	IdleTimeout time.Duration
	// Logger takes the log. Required.
	Logger *slog.Logger
}

// Terminal serves kubectl terminals.
type Terminal struct {
	cfg      Config
	sessions chan struct{}
	upgrader websocket.Upgrader
}

// New returns a Terminal.
func New(cfg Config) (*Terminal, error) {
	if cfg.Logger == nil {
		return nil, errors.New("terminal: Config.Logger is required")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 32
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 10 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = 4 << 20
	}
	return &Terminal{cfg: cfg, sessions: make(chan struct{}, cfg.MaxSessions),
		// The default origin check: a browser's upgrade must come from a
		// page of this server.
		upgrader: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16 << 10, HandshakeTimeout: 10 * time.Second}}, nil
}

// Available says why terminals cannot run here, or nil.
func (t *Terminal) Available() error {
	if t.cfg.Kubectl == "" {
		return errors.New("the server has no kubectl configured")
	}
	if fi, err := os.Stat(t.cfg.Kubectl); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("the server's kubectl %s is missing (make kube builds it, or start herd server with --kube-bin-dir)", t.cfg.Kubectl)
	}
	return nil
}

// Target is what a terminal's kubectl talks to: a cluster through Herd's
// proxy, with the user's token for the terminal.
type Target struct {
	// Server is the proxy URL of the cluster.
	Server string
	// CA is the PEM bundle that signs Herd's certificate.
	CA []byte
	// TLSServerName, when set, is the name to check Herd's certificate for.
	TLSServerName string
	// Token is the bearer token kubectl sends.
	Token string
	// User names the user, for the log.
	User string
}

// acquire takes a terminal slot, if one is free.
func (t *Terminal) acquire() bool {
	select {
	case t.sessions <- struct{}{}:
		return true
	default:
		return false
	}
}

// Serve upgrades r to a WebSocket and runs the user's commands until the
// client closes it. Each text message is one command line; the message
// "\x03" stops the running command. Output comes as binary messages; a
// command's end as a text message "exit N".
func (t *Terminal) Serve(w http.ResponseWriter, r *http.Request, target Target) {
	if !t.acquire() {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many terminals are open; try again later", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-t.sessions }()
	conn, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		t.cfg.Logger.Warn("terminal upgrade refused", "user", target.User, "err", err)
		return
	}
	defer conn.Close()
	conn.SetReadLimit(MaxLine)
	dir, err := os.MkdirTemp("", "herd-terminal-")
	if err != nil {
		t.cfg.Logger.Error("terminal: no working directory", "err", err)
		return
	}
	defer os.RemoveAll(dir)
	if err := writeKubeconfig(dir, target); err != nil {
		t.cfg.Logger.Error("terminal: no kubeconfig", "err", err)
		return
	}
	t.cfg.Logger.Info("terminal opened", "user", target.User, "server", target.Server)
	s := &session{t: t, conn: conn, dir: dir, log: t.cfg.Logger.With("user", target.User, "server", target.Server)}
	s.run(r.Context())
	t.cfg.Logger.Info("terminal closed", "user", target.User, "server", target.Server)
}

func writeKubeconfig(dir string, target Target) error {
	name := ""
	if target.TLSServerName != "" {
		name = fmt.Sprintf(", tls-server-name: %q", target.TLSServerName)
	}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: herd, cluster: {server: %q, certificate-authority-data: %s%s}}]\n"+
		"users: [{name: herd, user: {token: %q}}]\ncontexts: [{name: herd, context: {cluster: herd, user: herd}}]\ncurrent-context: herd\n",
		target.Server, base64.StdEncoding.EncodeToString(target.CA), name, target.Token)
	return os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kc), 0o600)
}

// session is one open terminal.
type session struct {
	t    *Terminal
	conn *websocket.Conn
	dir  string
	log  *slog.Logger

	writeMu sync.Mutex
	mu      sync.Mutex
	cancel  context.CancelFunc // of the running command; nil when idle
}

func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.stop()
	for {
		// The API's request deadlines stay on the hijacked connection:
		// a terminal instead ends after IdleTimeout without a message.
		_ = s.conn.SetReadDeadline(time.Now().Add(s.t.cfg.IdleTimeout))
		kind, data, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		if kind != websocket.TextMessage {
			continue
		}
		line := string(data)
		if line == "\x03" {
			s.stop()
			continue
		}
		s.mu.Lock()
		busy := s.cancel != nil
		s.mu.Unlock()
		if busy {
			s.send(websocket.BinaryMessage, []byte("a command is running: stop it first\n"))
			continue
		}
		args, err := Split(line)
		if err == nil {
			err = Check(args)
		}
		if err != nil {
			s.send(websocket.BinaryMessage, []byte(strings.TrimPrefix(err.Error(), ErrRefused.Error()+": ")+"\n"))
			s.send(websocket.TextMessage, []byte("exit 1"))
			continue
		}
		cctx, ccancel := context.WithTimeout(ctx, s.t.cfg.CommandTimeout)
		s.mu.Lock()
		s.cancel = ccancel
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := s.exec(cctx, args)
			s.mu.Lock()
			s.cancel = nil
			s.mu.Unlock()
			ccancel()
			s.send(websocket.TextMessage, []byte(fmt.Sprintf("exit %d", code)))
		}()
	}
}

// stop ends the running command, if any.
func (s *session) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
}

func (s *session) send(kind int, data []byte) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_ = s.conn.WriteMessage(kind, data)
}

// exec runs kubectl with args and streams its output; it returns the exit
// code (-1 when kubectl did not start).
func (s *session) exec(ctx context.Context, args []string) int {
	start := time.Now()
	cmd := exec.Command(s.t.cfg.Kubectl, args...)
	cmd.Dir = s.dir
	// Nothing of the server's environment: only where kubectl's files are.
	cmd.Env = []string{"HOME=" + s.dir, "KUBECONFIG=" + filepath.Join(s.dir, "kubeconfig"), "KUBECACHEDIR=" + filepath.Join(s.dir, "cache")}
	out := &limitedWriter{s: s, left: s.t.cfg.MaxOutput, full: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.log.Error("terminal: kubectl did not start", "err", err)
		s.send(websocket.BinaryMessage, []byte("kubectl could not start on the server\n"))
		return -1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.send(websocket.BinaryMessage, []byte(fmt.Sprintf("\n(stopped after %s)\n", s.t.cfg.CommandTimeout)))
		}
	case <-out.full:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		s.send(websocket.BinaryMessage, []byte(fmt.Sprintf("\n(stopped: more than %d bytes of output)\n", s.t.cfg.MaxOutput)))
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		code = -1
	}
	s.log.Info("terminal command", "verb", args[0], "args", len(args), "exit", code, "duration", time.Since(start).Round(time.Millisecond))
	return code
}

// limitedWriter sends output to the client until left bytes are used,
// then signals full once.
type limitedWriter struct {
	s    *session
	mu   sync.Mutex
	left int
	full chan struct{} // closed when left reaches 0
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if w.left <= 0 {
		return n, nil
	}
	if len(p) > w.left {
		p = p[:w.left]
	}
	w.left -= len(p)
	w.s.send(websocket.BinaryMessage, append([]byte(nil), p...))
	if w.left == 0 {
		close(w.full)
	}
	return n, nil
}
