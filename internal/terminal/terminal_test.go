package terminal

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// standIn is a kubectl stand-in (this package's unit tests only; the web
// console's tests run the real kubectl): it prints its environment and
// arguments, or floods its output, or sleeps, by its first argument.
const standIn = `#!/bin/sh
case "$1" in
get) env | sort; echo "args: $*"; echo "kubeconfig: $(cat "$KUBECONFIG" | grep -c token)" ;;
logs) while :; do echo 0123456789abcdef0123456789abcdef; done ;;
wait) sleep 60 ;;
describe) echo out; echo err >&2; exit 3 ;;
esac
`

func startTerminal(t *testing.T, cfg Config) *websocket.Conn {
	t.Helper()
	kubectl := filepath.Join(t.TempDir(), "kubectl")
	if err := os.WriteFile(kubectl, []byte(standIn), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Kubectl, cfg.Logger = kubectl, slog.New(slog.NewTextHandler(io.Discard, nil))
	term, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := term.Available(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		term.Serve(w, r, Target{Server: "https://127.0.0.1:1/k8s/clusters/c", CA: []byte("ca"), Token: "secret-token", User: "u-1"})
	}))
	t.Cleanup(srv.Close)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// command sends a line and reads the output until its "exit N".
func command(t *testing.T, conn *websocket.Conn, line string) (string, string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(line)); err != nil {
		t.Fatal(err)
	}
	return readUntilExit(t, conn)
}

func readUntilExit(t *testing.T, conn *websocket.Conn) (string, string) {
	t.Helper()
	var out strings.Builder
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (output so far %q)", err, out.String())
		}
		if kind == websocket.TextMessage {
			return out.String(), string(data)
		}
		out.Write(data)
	}
}

func TestServe(t *testing.T) {
	conn := startTerminal(t, Config{MaxOutput: 64 << 10})

	t.Run("empty environment", func(t *testing.T) {
		out, exit := command(t, conn, `kubectl get pods -l "app=web"`)
		if exit != "exit 0" {
			t.Fatalf("exit %q: %s", exit, out)
		}
		var env []string
		for _, l := range strings.Split(out, "\n") {
			if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "args:") && !strings.HasPrefix(l, "kubeconfig:") {
				env = append(env, k)
			}
		}
		for _, k := range env {
			switch k {
			case "HOME", "KUBECONFIG", "KUBECACHEDIR", "PWD", "SHLVL", "_", "OLDPWD":
			default:
				t.Errorf("kubectl's environment has %s", k)
			}
		}
		if !strings.Contains(out, "args: get pods -l app=web") || !strings.Contains(out, "kubeconfig: 1") {
			t.Errorf("output %q", out)
		}
		if strings.Contains(out, "secret-token") {
			t.Error("the token shows in the environment")
		}
	})

	t.Run("exit code and stderr", func(t *testing.T) {
		out, exit := command(t, conn, "describe pod x")
		if exit != "exit 3" || !strings.Contains(out, "out\n") || !strings.Contains(out, "err\n") {
			t.Errorf("%q %q", out, exit)
		}
	})

	t.Run("refused", func(t *testing.T) {
		out, exit := command(t, conn, "config view --raw")
		if exit != "exit 1" || !strings.Contains(out, "kubectl config does not run in the web terminal") || strings.Contains(out, "terminal: refused") {
			t.Errorf("%q %q", out, exit)
		}
	})

	t.Run("output limit", func(t *testing.T) {
		out, exit := command(t, conn, "logs -f web")
		if len(out) < 64<<10 || len(out) > 64<<10+200 || !strings.Contains(out, "more than 65536 bytes") || exit == "exit 0" {
			t.Errorf("%d bytes, %q", len(out), exit)
		}
	})

	t.Run("one at a time, and stop", func(t *testing.T) {
		if err := conn.WriteMessage(websocket.TextMessage, []byte("wait --for=delete pod/x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := conn.WriteMessage(websocket.TextMessage, []byte("get pods")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, data, err := conn.ReadMessage(); err != nil || !strings.Contains(string(data), "a command is running") {
			t.Errorf("a second command: %q %v", data, err)
		}
		start := time.Now()
		if err := conn.WriteMessage(websocket.TextMessage, []byte("\x03")); err != nil {
			t.Fatal(err)
		}
		if _, exit := readUntilExit(t, conn); exit != "exit -1" || time.Since(start) > 10*time.Second {
			t.Errorf("after stop: %q", exit)
		}
	})
}

func TestTimeouts(t *testing.T) {
	conn := startTerminal(t, Config{CommandTimeout: 300 * time.Millisecond, IdleTimeout: 2 * time.Second})
	out, exit := command(t, conn, "wait --for=delete pod/x")
	if exit != "exit -1" || !strings.Contains(out, "stopped after 300ms") {
		t.Errorf("a command past its time: %q %q", out, exit)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := conn.ReadMessage(); err == nil {
		t.Error("the terminal stays open past its idle timeout")
	}
}

func TestSessionLimit(t *testing.T) {
	term, err := New(Config{Kubectl: "/bin/true", MaxSessions: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { term.Serve(w, r, Target{}) }))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	first, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a second terminal over the limit: %v %v", resp, err)
	}
	first.Close()
	time.Sleep(200 * time.Millisecond)
	again, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("a terminal after the first closed: %v", err)
	}
	again.Close()
}

func TestCrossOrigin(t *testing.T) {
	term, err := New(Config{Kubectl: "/bin/true", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { term.Serve(w, r, Target{}) }))
	defer srv.Close()
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an upgrade from another origin: %v %v", resp, err)
	}
}
