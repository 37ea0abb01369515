package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creack/pty"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/recording"
	"herd.dev/herd/internal/server"
)

// recordingEnv is a server that records exec sessions (policy required,
// input too, at most 1 MiB per session) with east imported, a kubeconfig
// of its admin through Herd, and a pod to exec into.
type recordingEnv struct {
	s       *herdtest.Server
	admin   string
	kubectl herdtest.Kubectl // through Herd, as the admin
	pod     string
	herdctl string
	home    string // herdctl's HOME, logged in as the admin
}

func startRecordingEnv(t testing.TB, policy recording.Policy) *recordingEnv {
	t.Helper()
	s := herdtest.NewServer(t, func(c *server.Config) {
		c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath()
		c.ExecRecording, c.ExecRecordingInput, c.ExecRecordingMaxSize = policy, true, 1<<20
	})
	e := &recordingEnv{s: s, admin: s.Login(t, "admin", herdtest.BootstrapPassword)}
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	e.herdctl = herdtest.Build(t, "../../cmd/herdctl", "herdctl")
	east := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	if _, errOut, err := east.Exec("create", "namespace", "rec"); err != nil && !strings.Contains(errOut, "AlreadyExists") {
		t.Fatalf("create namespace rec: %v: %s", err, errOut)
	}
	if _, errOut, err := east.ExecStdin(deployment, "-n", "rec", "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the web deployment: %v: %s", err, errOut)
	}
	t.Cleanup(func() { _, _, _ = east.Exec("delete", "namespace", "rec", "--wait=false") })
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "east"})
	if code == http.StatusConflict {
		code, body = s.Do(t, "POST", "/v1/clusters/east/import", e.admin, nil)
	}
	herdtest.Expect(t, "import east", code, body, http.StatusCreated)
	var created herdapi.ClusterCreateResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	importCluster(t, s, herd, "east", created.Import.Command)
	resp, kc := s.DoResponse(t, "GET", "/v1/clusters/east/kubeconfig", e.admin, nil)
	herdtest.Expect(t, "kubeconfig", resp.StatusCode, kc, http.StatusOK)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	e.kubectl = herdtest.Kubectl{Kubeconfig: path}
	herdtest.Eventually(t, "the web pod through Herd", wait, func() error {
		out, errOut, err := e.kubectl.Exec("-n", "rec", "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
		if err != nil || out == "" {
			return fmt.Errorf("%v: %s", err, errOut)
		}
		e.pod = out
		return nil
	})
	e.home = t.TempDir()
	login := exec.Command(e.herdctl, "login", s.URL, "--username", "admin", "--password-stdin", "--ca-checksum", server.Checksum(s.CABundle()))
	login.Env = append(os.Environ(), "HOME="+e.home)
	login.Stdin = strings.NewReader(herdtest.BootstrapPassword)
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("herdctl login: %v\n%s", err, out)
	}
	return e
}

// herdctlRun runs herdctl as the logged-in admin.
func (e *recordingEnv) herdctlRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(e.herdctl, args...)
	cmd.Env = append(os.Environ(), "HOME="+e.home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("herdctl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String() + errOut.String()
}

// sessions lists the recorded sessions, newest first.
func (e *recordingEnv) sessions(t *testing.T) []herdapi.ExecSession {
	t.Helper()
	var list herdapi.ExecSessionList
	if err := json.Unmarshal([]byte(e.herdctlRun(t, "sessions", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// ended waits for the one session that is not among before to be Ended,
// and returns it.
func (e *recordingEnv) ended(t *testing.T, before []herdapi.ExecSession) herdapi.ExecSession {
	t.Helper()
	var got herdapi.ExecSession
	herdtest.Eventually(t, "the session's record to end", wait, func() error {
		list := e.sessions(t)
		if len(list) != len(before)+1 || (len(before) > 0 && list[0].Name == before[0].Name) {
			return fmt.Errorf("%d sessions, %d before", len(list), len(before))
		}
		if got = list[0]; got.Phase != "Ended" {
			return fmt.Errorf("phase %s", got.Phase)
		}
		return nil
	})
	return got
}

// cast is a session's recording, as `herdctl sessions play --cast` gives it.
func (e *recordingEnv) cast(t *testing.T, name string) (recording.Header, []recording.Event) {
	t.Helper()
	h, evs, err := recording.ReadAll(strings.NewReader(e.herdctlRun(t, "sessions", "play", name, "--cast")))
	if err != nil {
		t.Fatal(err)
	}
	return h, evs
}

func eventText(evs []recording.Event, code string) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Code == code {
			b.WriteString(ev.Data)
		}
	}
	return b.String()
}

// TestExecRecording records real kubectl exec sessions through Herd, over
// WebSocket (kubectl's default) and SPDY, with a TTY and with -i alone,
// and replays them with herdctl; output past the size limit is cut and
// marked, the session itself gets all of it; a session that never ends is
// readable while it runs; with recording required, an exec is refused
// while the management cluster refuses recordings, and one whose storage
// fails midway runs on, with the gap marked.
func TestExecRecording(t *testing.T) {
	e := startRecordingEnv(t, recording.Required)

	t.Run("websocket with a TTY", func(t *testing.T) {
		before := e.sessions(t)
		cmd := exec.Command(localcluster.KubectlPath(""), "--kubeconfig="+e.kubectl.Kubeconfig, "-n", "rec", "exec", "-it", e.pod, "--", "sh")
		cmd.Env = append(os.Environ(), "TERM=xterm")
		term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 111})
		if err != nil {
			t.Fatal(err)
		}
		defer term.Close()
		t.Cleanup(func() { // also when the test fails before kubectl exits
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		out := &herdtest.SyncBuffer{}
		go func() { _, _ = io.Copy(out, term) }()
		_, _ = term.Write([]byte("echo typed-$((6*7))\r"))
		herdtest.Eventually(t, "the shell's answer", wait, func() error {
			if !strings.Contains(out.String(), "typed-42") {
				return fmt.Errorf("terminal shows %q", out.String())
			}
			return nil
		})
		_, _ = term.Write([]byte("exit\r"))
		if err := cmd.Wait(); err != nil {
			t.Fatalf("kubectl exec -it: %v: %q", err, out.String())
		}
		got := e.ended(t, before)
		if got.Username != "admin" || got.Cluster != "east" || got.Namespace != "rec" || got.Pod != e.pod || !got.TTY || !got.Stdin ||
			strings.Join(got.Command, " ") != "sh" || !got.Input {
			t.Errorf("session %+v", got)
		}
		h, evs := e.cast(t, got.Name)
		if h.Width != 111 || h.Height != 33 {
			t.Errorf("terminal size %dx%d, want 111x33", h.Width, h.Height)
		}
		if o := eventText(evs, recording.CodeOutput); !strings.Contains(o, "typed-42") {
			t.Errorf("output %q", o)
		}
		if i := eventText(evs, recording.CodeInput); !strings.Contains(i, "echo typed-$((6*7))") || !strings.Contains(i, "exit\r") {
			t.Errorf("input %q", i)
		}
		played := e.herdctlRun(t, "sessions", "play", got.Name, "--speed", "100", "--idle-limit", "100ms")
		if !strings.Contains(played, "typed-42") || !strings.Contains(played, "End of the recording") {
			t.Errorf("play: %q", played)
		}
	})

	t.Run("spdy, stdin without a TTY", func(t *testing.T) {
		before := e.sessions(t)
		k := e.kubectl
		k.Env = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}
		// kwok's exec does not pass the end of stdin on: the command reads
		// what it needs and ends by itself.
		out, errOut, err := k.ExecStdin("first line\nsecond line\n", "-n", "rec", "exec", "-i", e.pod, "--", "sh", "-c", `read a; read b; echo "$b/$a"; echo to-stderr >&2`)
		if err != nil || out != "second line/first line\n" || !strings.Contains(errOut, "to-stderr") {
			t.Fatalf("kubectl exec -i over SPDY: %v: %q %q", err, out, errOut)
		}
		got := e.ended(t, before)
		if got.TTY || !got.Stdin {
			t.Errorf("session %+v", got)
		}
		_, evs := e.cast(t, got.Name)
		if o := eventText(evs, recording.CodeOutput); !strings.Contains(o, "second line/first line\n") || !strings.Contains(o, "to-stderr") {
			t.Errorf("output %q", o)
		}
		if i := eventText(evs, recording.CodeInput); i != "first line\nsecond line\n" {
			t.Errorf("input %q", i)
		}
	})

	t.Run("huge output", func(t *testing.T) {
		before := e.sessions(t)
		out, errOut, err := e.kubectl.ExecStdin("", "-n", "rec", "exec", "-i", e.pod, "--", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x")
		if err != nil || len(out) != 3000000 {
			t.Fatalf("the session lost output: %v: %d bytes, %s", err, len(out), errOut)
		}
		got := e.ended(t, before)
		if !got.Truncated || got.LostBytes < 1900000 {
			t.Errorf("session %+v", got)
		}
		_, evs := e.cast(t, got.Name)
		if n := len(eventText(evs, recording.CodeOutput)); n > 1<<20 || n < 900000 {
			t.Errorf("recorded %d bytes of output", n)
		}
		if !strings.Contains(eventText(evs, recording.CodeMarker), "truncated") {
			t.Error("no truncation marker")
		}
	})

	t.Run("a session that never ends, storage failing midway", func(t *testing.T) {
		before := e.sessions(t)
		cmd := exec.Command(localcluster.KubectlPath(""), "--kubeconfig="+e.kubectl.Kubeconfig, "-n", "rec", "exec", "-i", e.pod, "--",
			"sh", "-c", "while true; do echo tick; sleep 0.2; done")
		if _, err := cmd.StdinPipe(); err != nil { // open, so the session never ends by itself
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		ticks := func(min int) {
			t.Helper()
			herdtest.Eventually(t, fmt.Sprintf("%d ticks in the recording while it runs", min), wait, func() error {
				list := e.sessions(t)
				if len(list) != len(before)+1 || list[0].Phase != "Recording" {
					return fmt.Errorf("no running session")
				}
				data := e.herdctlRun(t, "sessions", "play", list[0].Name, "--cast")
				if n := strings.Count(data, "tick"); n < min {
					return fmt.Errorf("%d ticks", n)
				}
				return nil
			})
		}
		ticks(3)
		// The management cluster refuses the recording's writes for a
		// while (as a full disk or a quota would): the session runs on,
		// and what it printed meanwhile is stored once writes work again.
		mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		deny(t, mgmt, "herd-test-no-chunks", `{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["secrets"]}`, recording.Namespace)
		time.Sleep(4 * time.Second)
		if cmd.ProcessState != nil {
			t.Fatal("the session ended while its recording could not be stored")
		}
		mgmt.Run(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", "herd-test-no-chunks")
		ticks(40)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		got := e.ended(t, before)
		_, evs := e.cast(t, got.Name)
		if out := eventText(evs, recording.CodeOutput); strings.Contains(out, "ticktick") || got.LostBytes != 0 {
			t.Errorf("output lost while the storage failed: %d bytes lost", got.LostBytes)
		}
		if !strings.Contains(e.s.Logs.String(), "failed to store the recording; will retry") {
			t.Error("the refused writes are not in the log")
		}
	})

	t.Run("required and unavailable", func(t *testing.T) {
		mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		deny(t, mgmt, "herd-test-no-sessions", `{apiGroups: ["management.herd.dev"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["execsessions"]}`, "")
		herdtest.Eventually(t, "an exec refused", wait, func() error {
			out, errOut, err := e.kubectl.ExecStdin("x\n", "-n", "rec", "exec", "-i", e.pod, "--", "head", "-n1")
			if err == nil {
				return fmt.Errorf("exec ran unrecorded: %q", out)
			}
			if !strings.Contains(errOut, "must be recorded") {
				return fmt.Errorf("refused with %q", errOut)
			}
			return nil
		})
		if out, errOut, err := e.kubectl.Exec("-n", "rec", "exec", e.pod, "--", "echo", "not-interactive"); err != nil || out != "not-interactive\n" {
			t.Errorf("an exec without stdin or a TTY is not recorded and runs: %v %q %s", err, out, errOut)
		}
		mgmt.Run(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", "herd-test-no-sessions")
		herdtest.Eventually(t, "exec again", wait, func() error {
			out, errOut, err := e.kubectl.ExecStdin("back\n", "-n", "rec", "exec", "-i", e.pod, "--", "head", "-n1")
			if err != nil || out != "back\n" {
				return fmt.Errorf("%v %q %s", err, out, errOut)
			}
			return nil
		})
	})

	t.Run("who sees what", func(t *testing.T) {
		code, body := e.s.Do(t, "POST", "/v1/users", e.admin, herdapi.UserCreateRequest{Username: "rec-viewer", Password: "viewer-password-1"})
		if code != http.StatusConflict {
			herdtest.Expect(t, "create rec-viewer", code, body, http.StatusCreated)
		}
		viewer := e.s.Login(t, "rec-viewer", "viewer-password-1")
		mine := e.sessions(t)
		if len(mine) == 0 {
			t.Fatal("no sessions")
		}
		code, body = e.s.Do(t, "GET", "/v1/sessions", viewer, nil)
		herdtest.Expect(t, "viewer's sessions", code, body, http.StatusOK)
		if strings.Contains(string(body), mine[0].Name) {
			t.Errorf("a user sees the admin's sessions: %s", body)
		}
		for _, path := range []string{"/v1/sessions/" + mine[0].Name, "/v1/sessions/" + mine[0].Name + "/recording"} {
			if code, body := e.s.Do(t, "GET", path, viewer, nil); code != http.StatusNotFound {
				t.Errorf("GET %s as a user: %d %s", path, code, body)
			}
		}
		if code, body := e.s.Do(t, "GET", "/v1/sessions?user=admin", viewer, nil); code != http.StatusForbidden {
			t.Errorf("a user lists the admin's sessions: %d %s", code, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		m := herdtest.ScrapeMetrics(t, e.s, e.admin)
		if v, _ := m.Value("herd_exec_sessions_total", "recording", "recorded"); v < 4 {
			t.Errorf("recorded sessions: %v", v)
		}
		if v, _ := m.Value("herd_exec_sessions_total", "recording", "refused"); v < 1 {
			t.Errorf("refused sessions: %v", v)
		}
		if v, _ := m.Value("herd_exec_recording_lost_bytes_total"); v < 1900000 {
			t.Errorf("lost bytes: %v", v)
		}
	})

	t.Run("the console plays it", func(t *testing.T) {
		var withTTY herdapi.ExecSession
		for _, s := range e.sessions(t) {
			if s.TTY {
				withTTY = s
			}
		}
		tab := herdtest.StartBrowser(t).NewTab(t)
		tab.Do(t, wait, "open the console", chromedp.Navigate(e.s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		login(t, tab, "admin", herdtest.BootstrapPassword)
		tab.WaitText(t, "#who", "admin", wait)
		tab.Do(t, wait, "the sessions", goTo("#/sessions"), chromedp.WaitVisible(chromedp.CSS(`tr[data-session="`+withTTY.Name+`"] a`)))
		tab.Do(t, wait, "open the session", chromedp.Click(chromedp.CSS(`tr[data-session="`+withTTY.Name+`"] a`)), chromedp.WaitVisible(chromedp.CSS("#player-play")))
		tab.Do(t, wait, "play it fast", chromedp.SetValue(chromedp.CSS("#player-speed"), "16"), chromedp.Click(chromedp.CSS("#player-play")))
		tab.WaitText(t, "#player-screen", "typed-42", wait)
		tab.Screenshot(t, "session-player")
	})
}

// deny makes the management cluster refuse what rule matches (in
// namespace, if set) with a ValidatingAdmissionPolicy, until the test
// ends or the caller deletes it.
func deny(t *testing.T, mgmt herdtest.Kubectl, name, rule, namespace string) {
	t.Helper()
	selector := ""
	if namespace != "" {
		selector = fmt.Sprintf("\n    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}", namespace)
	}
	policy := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: %[1]s}
spec:
  failurePolicy: Fail
  matchConstraints:%[3]s
    resourceRules: [%[2]s]
  validations: [{expression: "false", message: "refused by the test"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: %[1]s}
spec: {policyName: %[1]s, validationActions: [Deny]}
`, name, rule, selector)
	if _, errOut, err := mgmt.ExecStdin(policy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply %s: %v: %s", name, err, errOut)
	}
	t.Cleanup(func() {
		_, _, _ = mgmt.Exec("delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", name, "--ignore-not-found")
	})
}
