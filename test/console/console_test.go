package console

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/server"
)

// podLogLine is what kwok serves as every container's log on the local
// clusters (internal/localcluster).
const podLogLine = "herd local cluster: container started on a kwok node"

const wait = 30 * time.Second

// TestConsole walks the console as its users would: an admin logs in,
// sees the local cluster Ready, opens it, lists pods, reads a pod's logs,
// runs a command in it, reads an object's YAML; names with HTML in them
// stay text; a user without rights sees the refusal; the admin imports a
// second cluster from the console and watches it turn Connected.
func TestConsole(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) { c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath() })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	east := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	if _, errOut, err := east.Exec("create", "namespace", "shop"); err != nil && !strings.Contains(errOut, "AlreadyExists") {
		t.Fatalf("create namespace shop: %v: %s", err, errOut)
	}
	if _, errOut, err := east.ExecStdin(deployment, "-n", "shop", "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the web deployment: %v: %s", err, errOut)
	}
	t.Cleanup(func() { _, _, _ = east.Exec("delete", "namespace", "shop", "--wait=false") })
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "east"})
	herdtest.Expect(t, "create cluster east", code, body, http.StatusCreated)
	var created herdapi.ClusterCreateResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	importCluster(t, s, herd, "east", created.Import.Command)

	b := herdtest.StartBrowser(t)
	tab := b.NewTab(t)
	// Each step needs the ones before it.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("login", func(t *testing.T) {
		tab.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		tab.Screenshot(t, "login")
		login(t, tab, "admin", "wrong password")
		tab.WaitText(t, "#login-form .error", "Wrong username or password", wait)
		login(t, tab, "admin", herdtest.BootstrapPassword)
		tab.WaitText(t, "#who", "admin", wait)
		if cookies := herdtest.Eval[string](t, tab, "document.cookie"); strings.Contains(cookies, "herd-session") {
			t.Errorf("the session cookie is readable by scripts: %q", cookies)
		}
	})

	step("cluster list", func(t *testing.T) {
		tab.Do(t, wait, "the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="east"]`)))
		herdtest.Eventually(t, "east Connected and Ready in the list", wait, func() error {
			if got := herdtest.Eval[string](t, tab, `[...document.querySelectorAll('tr[data-cluster="east"] .state .badge.ok')].map(e => e.textContent).join(",")`); got != "Connected,Ready" {
				return fmt.Errorf("state %q", got)
			}
			return nil
		})
		tab.Screenshot(t, "clusters")
	})

	step("bundles", func(t *testing.T) {
		code, body := s.Do(t, "PUT", "/v1/bundles/console-cm", admin, herdapi.BundleApply{Spec: v1.BundleSpec{
			Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: console-cm}\ndata: {a: b}\n",
			Targets:   v1.BundleTargets{ClusterNames: []string{"east"}}}})
		herdtest.Expect(t, "apply a bundle", code, body, http.StatusCreated)
		t.Cleanup(func() { s.Do(t, "DELETE", "/v1/bundles/console-cm", admin, nil) })
		tab.Do(t, wait, "the bundle list", goTo("#/bundles"), chromedp.WaitVisible(chromedp.CSS(`tr[data-bundle="console-cm"] a`)))
		tab.Do(t, wait, "open the bundle", chromedp.Click(chromedp.CSS(`tr[data-bundle="console-cm"] a`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="east"]`)))
		herdtest.Eventually(t, "east Ready in the bundle's page", wait, func() error {
			tab.Do(t, wait, "reload the bundle", goTo("#/clusters"), goTo("#/bundles/console-cm"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="east"]`)))
			if got := herdtest.Eval[string](t, tab, `document.querySelector('tr[data-cluster="east"] .badge').textContent`); got != "Ready" {
				return fmt.Errorf("east is %q", got)
			}
			return nil
		})
		tab.Screenshot(t, "bundle")
		tab.Do(t, wait, "back to the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="east"] .state`)))
	})

	step("pods and logs", func(t *testing.T) {
		tab.Do(t, wait, "open cluster east", chromedp.Click(chromedp.CSS(`tr[data-cluster="east"] a`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-node]`)))
		tab.Screenshot(t, "cluster")
		tab.Do(t, wait, "the pods tab", chromedp.Click(chromedp.CSS(`.tabs a[href$="/pods"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-pod^="shop/web-"] a`)))
		tab.Screenshot(t, "pods")
		tab.Do(t, wait, "open the pod", chromedp.Click(chromedp.CSS(`tr[data-pod^="shop/web-"] a`)), chromedp.WaitVisible(chromedp.CSS("#logs")))
		tab.WaitText(t, "#logs", podLogLine, wait)
		tab.Screenshot(t, "pod-logs")
	})

	step("exec", func(t *testing.T) {
		tab.Do(t, wait, "run a command in the pod", chromedp.SendKeys(chromedp.CSS("#exec-command"), "echo hello-from-the-console"), chromedp.Click(chromedp.CSS("#exec-run")))
		tab.WaitText(t, "#exec-output", "\nhello-from-the-console", wait)
	})

	step("yaml", func(t *testing.T) {
		tab.Do(t, wait, "the pod's YAML", chromedp.Click(chromedp.CSS("a.yaml")), chromedp.WaitVisible(chromedp.CSS("#yaml")))
		text := tab.WaitText(t, "#yaml", "kind: Pod", wait)
		if !strings.Contains(text, "namespace: shop") {
			t.Errorf("YAML of the pod: %s", text)
		}
	})

	step("terminal", func(t *testing.T) {
		tab.Do(t, wait, "the terminal", goTo("#/clusters/east/terminal"), chromedp.WaitVisible(chromedp.CSS("#terminal-input")))
		tab.WaitText(t, "#tab", "kubectl as", wait)
		run := func(line, want string) string {
			t.Helper()
			before := herdtest.Eval[int](t, tab, `document.querySelector('#terminal-output').textContent.length`)
			tab.Do(t, wait, "kubectl "+line, chromedp.SendKeys(chromedp.CSS("#terminal-input"), line), chromedp.Click(chromedp.CSS("#terminal-run")))
			text := tab.WaitText(t, "#terminal-output", want, wait)
			return text[min(before, len(text)):]
		}
		out := run("get pods -A", "web-")
		if !strings.Contains(out, "shop ") || !strings.Contains(out, "NAMESPACE") {
			t.Errorf("get pods -A in the terminal: %s", out)
		}
		code, body := s.Do(t, "GET", "/v1/me", admin, nil)
		herdtest.Expect(t, "me", code, body, http.StatusOK)
		var me herdapi.User
		if err := json.Unmarshal(body, &me); err != nil {
			t.Fatal(err)
		}
		// kubectl runs as the console's user, not as the server.
		run("auth whoami -o jsonpath={.status.userInfo.username}", "\n"+me.Name+"\n")
		run("config view --raw", "kubectl config does not run in the web terminal")
		run("get pods --kubeconfig=/etc/passwd", "the terminal has its own")
		tab.Screenshot(t, "terminal")
	})

	step("long lists are paged", func(t *testing.T) {
		var many strings.Builder
		for i := range 60 {
			fmt.Fprintf(&many, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: page-%02d}\n", i)
		}
		if _, errOut, err := east.ExecStdin(many.String(), "apply", "-f", "-"); err != nil {
			t.Fatalf("60 namespaces: %v %s", err, errOut)
		}
		t.Cleanup(func() {
			names := []string{"delete", "namespace", "--wait=false"}
			for i := range 60 {
				names = append(names, fmt.Sprintf("page-%02d", i))
			}
			_, _, _ = east.Exec(names...)
		})
		tab.Do(t, wait, "the namespaces", goTo("#/clusters/east/namespaces"), chromedp.WaitVisible(chromedp.CSS("#tab button.more")))
		if n := herdtest.Eval[int](t, tab, `document.querySelectorAll('#tab tr[data-namespace]').length`); n != 50 {
			t.Errorf("first page: %d namespaces, want 50", n)
		}
		tab.Do(t, wait, "the next page", chromedp.Click(chromedp.CSS("#tab button.more")), chromedp.WaitNotVisible(chromedp.CSS("#tab button.more")))
		if n := herdtest.Eval[int](t, tab, `document.querySelectorAll('#tab tr[data-namespace]').length`); n < 64 {
			t.Errorf("both pages: %d namespaces, want the 60 new ones and the cluster's own", n)
		}
		tab.WaitText(t, "#tab", "page-59", wait)
	})

	step("forged CSRF token", func(t *testing.T) {
		status := herdtest.Eval[int](t, tab, `fetch('/v1/users', {method: 'POST', credentials: 'same-origin',
			headers: {'Content-Type': 'application/json', 'X-Herd-CSRF': 'forged'},
			body: JSON.stringify({username: 'forged', password: 'forged-password-1'})}).then(r => r.status)`)
		if status != http.StatusForbidden {
			t.Errorf("a change with a forged CSRF token: %d, want 403", status)
		}
		if code, _ := s.Do(t, "GET", "/v1/users/forged", admin, nil); code != http.StatusNotFound {
			t.Errorf("the forged request made user forged: %d", code)
		}
	})

	step("HTML in names stays text", func(t *testing.T) {
		const evil = `<img src=x onerror="document.title='pwned'"><b>bold</b>`
		code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "html-name", DisplayName: evil})
		herdtest.Expect(t, "a cluster with HTML in its display name", code, body, http.StatusCreated)
		tab.Do(t, wait, "the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="html-name"]`)))
		if got := herdtest.Eval[string](t, tab, `document.querySelector('tr[data-cluster="html-name"] .display-name').textContent`); got != evil {
			t.Errorf("display name shown as %q, want the text %q", got, evil)
		}
		if n := herdtest.Eval[int](t, tab, `document.querySelectorAll('#view img, #view b').length`); n != 0 {
			t.Errorf("%d elements made from a display name", n)
		}
		if title := herdtest.Eval[string](t, tab, "document.title"); title != "Herd" {
			t.Errorf("title %q: the display name ran as script", title)
		}
	})

	step("users, projects and members", func(t *testing.T) {
		tab.Do(t, wait, "create user dev", goTo("#/users"), chromedp.WaitVisible(chromedp.CSS("#new-user")),
			chromedp.SendKeys(chromedp.CSS("#new-username"), "dev"), chromedp.SendKeys(chromedp.CSS("#new-display-name"), "Dev Eloper"),
			chromedp.SendKeys(chromedp.CSS("#new-password"), "dev-password-123"), chromedp.Click(chromedp.CSS("#new-user-submit")),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-user="dev"]`)))
		t.Cleanup(func() { s.Do(t, "DELETE", "/v1/users/dev", admin, nil) })
		tab.Do(t, wait, "create project team in east", goTo("#/projects"), chromedp.WaitVisible(chromedp.CSS("#new-project")),
			chromedp.SetValue(chromedp.CSS("#project-cluster"), "east"), chromedp.SendKeys(chromedp.CSS("#project-name"), "team"),
			chromedp.Click(chromedp.CSS("#new-project-submit")), chromedp.WaitVisible(chromedp.CSS(`tr[data-project="team"]`)))
		tab.Do(t, wait, "move namespace shop into team", chromedp.SendKeys(chromedp.CSS(`tr[data-project="team"] input`), "shop"),
			chromedp.Click(chromedp.CSS(`tr[data-project="team"] button.plain`)))
		tab.WaitText(t, `tr[data-project="team"]`, "shop", wait)
		tab.Do(t, wait, "make dev a member of team", goTo("#/members/project%3Ateam"), chromedp.WaitVisible(chromedp.CSS("#new-member")),
			chromedp.SetValue(chromedp.CSS("#member-role"), "project-member"),
			chromedp.SendKeys(chromedp.CSS("#member-who"), "dev"), chromedp.Click(chromedp.CSS("#new-member-submit")))
		tab.WaitText(t, "#view table", "dev", wait)
		tab.Screenshot(t, "members")

		// dev's terminal runs as dev: the project's namespace, and
		// nothing outside it.
		devTab := b.NewTab(t)
		devTab.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		login(t, devTab, "dev", "dev-password-123")
		devTab.WaitText(t, "#who", "Dev Eloper", wait)
		devTab.Do(t, wait, "dev's cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="east"]`)))
		devTab.Do(t, wait, "dev's terminal", goTo("#/clusters/east/terminal"), chromedp.WaitVisible(chromedp.CSS("#terminal-input")))
		devTab.WaitText(t, "#tab", "kubectl as", wait)
		herdtest.Eventually(t, "dev sees the pods of shop", wait, func() error {
			devTab.Do(t, wait, "get pods -n shop", chromedp.SendKeys(chromedp.CSS("#terminal-input"), "get pods -n shop"), chromedp.Click(chromedp.CSS("#terminal-run")))
			time.Sleep(time.Second)
			if out := herdtest.Eval[string](t, devTab, `document.querySelector('#terminal-output').textContent`); !strings.Contains(out, "web-") {
				return fmt.Errorf("terminal: %s", out)
			}
			return nil
		})
		devTab.Do(t, wait, "get pods -n kube-system", chromedp.SendKeys(chromedp.CSS("#terminal-input"), "get pods -n kube-system"), chromedp.Click(chromedp.CSS("#terminal-run")))
		devTab.WaitText(t, "#terminal-output", "Forbidden", wait)
		devTab.Screenshot(t, "terminal-as-dev")
	})

	step("refused", func(t *testing.T) {
		const password = "viewer-password-1"
		code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: "viewer", Password: password})
		t.Cleanup(func() { s.Do(t, "DELETE", "/v1/users/viewer", admin, nil) })
		herdtest.Expect(t, "create viewer", code, body, http.StatusCreated)
		other := b.NewTab(t)
		other.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		login(t, other, "viewer", password)
		other.WaitText(t, "#who", "viewer", wait)
		other.Do(t, wait, "the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS("#cluster-list")))
		other.WaitText(t, "#cluster-list", "No clusters", wait)
		other.Do(t, wait, "the users page", goTo("#/users"), chromedp.WaitVisible(chromedp.CSS("#view .error")))
		other.WaitText(t, "#view .error", "Refused", wait)
		other.Screenshot(t, "refused")
		other.Do(t, wait, "the pods of east", goTo("#/clusters/east/pods"), chromedp.WaitVisible(chromedp.CSS("#view .error")))
		other.WaitText(t, "#view .error", "not found", wait)

		// The session ends while the page is open (here: the user is
		// disabled): the next request says so and shows the login.
		other.Do(t, wait, "the cluster list", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS("#cluster-list")))
		disabled := false
		code, body = s.Do(t, "PATCH", "/v1/users/viewer", admin, herdapi.UserUpdateRequest{Enabled: &disabled})
		herdtest.Expect(t, "disable viewer", code, body, http.StatusOK)
		other.Do(t, wait, "the login after the session ended", chromedp.WaitVisible(chromedp.CSS("#login-form")))
		other.WaitText(t, "#flash", "Your session has ended", wait)
		other.Screenshot(t, "session-ended")
	})

	step("import", func(t *testing.T) {
		tab.Do(t, wait, "the import page", goTo("#/import"), chromedp.WaitVisible(chromedp.CSS("#import-name")),
			chromedp.SendKeys(chromedp.CSS("#import-name"), "west"), chromedp.Click(chromedp.CSS("#import-submit")),
			chromedp.WaitVisible(chromedp.CSS("#import-command")))
		command := tab.WaitText(t, "#import-command", "kubectl apply", wait)
		tab.WaitText(t, "#import-state", "Waiting for the agent", wait)
		tab.Screenshot(t, "import")
		importCluster(t, s, herd, "west", command)
		tab.WaitText(t, "#import-state .badge.ok", "Connected", 60*time.Second)
		if got := herdtest.Eval[string](t, tab, `[...document.querySelectorAll('#import-state .badge.ok')].map(e => e.textContent).join(",")`); !strings.HasPrefix(got, "Connected") {
			t.Errorf("import state %q", got)
		}
		tab.Screenshot(t, "imported")
	})

	step("logout", func(t *testing.T) {
		tab.Do(t, wait, "log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		tab.Do(t, wait, "the cluster list after logout", goTo("#/clusters"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		code, body := s.Do(t, "GET", "/v1/tokens", admin, nil)
		herdtest.Expect(t, "tokens", code, body, http.StatusOK)
		var list herdapi.TokenList
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		for _, tok := range list.Items {
			if tok.Kind == "browser" && tok.Enabled && !tok.Expired {
				t.Errorf("browser token %s still valid after logout", tok.Name)
			}
			if strings.HasPrefix(tok.Description, "web console terminal") && tok.Enabled && !tok.Expired {
				t.Errorf("the terminal's token %s outlives the terminal", tok.Name)
			}
		}
	})
}

func login(t *testing.T, tab *herdtest.Tab, username, password string) {
	t.Helper()
	tab.Do(t, wait, "log in as "+username,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#username').value = ''; document.querySelector('#password').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#username"), username), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
}

// importCluster runs an import command as its user would, with the
// kubeconfig of the local cluster name, and then `herd agent` as the
// manifest's Deployment would (kwok's nodes run no containers), with the
// registration token and service account the manifest made. The agent
// runs until the test ends.
func importCluster(t testing.TB, s *herdtest.Server, herd, name, command string) {
	t.Helper()
	lc := clusters.Get(name)
	sh := exec.Command("bash", "-o", "pipefail", "-c", command)
	sh.Env = append(os.Environ(), "KUBECONFIG="+lc.KubeconfigPath(), "PATH="+filepath.Dir(localcluster.KubectlPath(""))+":"+os.Getenv("PATH"))
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the import command of %s: %v\n%s", name, err, out)
	}
	down := herdtest.Kubectl{Kubeconfig: lc.KubeconfigPath()}
	regTok, err := base64.StdEncoding.DecodeString(down.Run(t, "-n", "herd-system", "get", "secret", "herd-credentials", "-o", "jsonpath={.data.token}"))
	if err != nil {
		t.Fatal(err)
	}
	kc := herdtest.SAKubeconfig(t, down, lc.ServerURL(), "herd-system", "herd-agent")
	cmd, logs := herdtest.AgentProcess(t, herd, s, string(regTok), kc)
	herdtest.LogOnFailure(t, "agent of "+name, logs.String)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:1
`

// goTo shows a page of the console by its fragment (a navigation within
// the page, which fires no load event for chromedp.Navigate to wait for).
func goTo(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", hash))
}
