package console

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herd.dev/herd/internal/authn/saml"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/server"
)

// samlEnv is a Herd server with a real SAML IdP (SimpleSAMLphp) and the
// cluster east imported.
type samlEnv struct {
	s       *herdtest.Server
	admin   string
	idp     *herdtest.SimpleSAMLphp
	herdctl string
}

var samlUsers = []herdtest.SAMLUser{
	{Username: "alice", Password: "alice-pw", DisplayName: "Alice Liddell", Groups: []string{"devs"}},
	{Username: "bob", Password: "bob-pw", DisplayName: "Bob Builder", Groups: []string{"sales"}},
}

// enable configures the SAML provider with settings.
func (e *samlEnv) enable(t *testing.T, settings map[string]string) {
	t.Helper()
	enabled := true
	code, body := e.s.Do(t, "PUT", "/v1/auth/providers/saml", e.admin, herdapi.ProviderUpdate{Enabled: &enabled, Settings: settings})
	herdtest.Expect(t, "enable saml", code, body, http.StatusOK)
}

func (e *samlEnv) settings(extra ...string) map[string]string {
	m := map[string]string{"idpMetadataURL": e.idp.MetadataURL, "uidAttribute": "uid", "groupsAttribute": "groups",
		"allowedPrincipals": saml.GroupPrincipal(e.idp.EntityID, "devs")}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// callback runs a CLI-style login of user up to Herd's callback: Herd's
// AuthnRequest, the IdP's login form, and the IdP's signed answer posted
// to Herd (wait first, if set). It returns Herd's status and the posted
// form (to post it again).
func (e *samlEnv) callback(t *testing.T, user herdtest.SAMLUser, wait time.Duration) (int, url.Values) {
	t.Helper()
	sum := sha256.Sum256([]byte(herdtoken.NewSecret()))
	code, body := e.s.Do(t, "POST", "/v1/auth/login/saml", "", herdapi.RedirectLoginRequest{CLIRedirect: "http://127.0.0.1:1/callback",
		CLIChallenge: base64.RawURLEncoding.EncodeToString(sum[:])})
	herdtest.Expect(t, "start a saml login", code, body, http.StatusOK)
	var start herdapi.RedirectLoginResponse
	if err := json.Unmarshal(body, &start); err != nil {
		t.Fatal(err)
	}
	action, form := e.idp.Login(t, start.AuthURL, user.Username, user.Password)
	if action != e.s.URL+saml.CallbackPath {
		t.Fatalf("the IdP posts to %s, not Herd's callback", action)
	}
	time.Sleep(wait)
	return e.post(t, form), form
}

func (e *samlEnv) post(t *testing.T, form url.Values) int {
	t.Helper()
	noFollow := *e.s.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(e.s.URL+saml.CallbackPath, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSAML: users of a real SAML IdP log in to Herd with herdctl and the
// console in Chromium, get what their group is bound to, and Herd refuses
// users outside the allowed principals and answers that are replayed,
// expired or signed by a key the IdP's metadata does not hold.
func TestSAML(t *testing.T) {
	s := herdtest.NewServer(t, func(c *server.Config) { c.Kubeconfig = clusters.Get("mgmt").KubeconfigPath() })
	e := &samlEnv{s: s, admin: s.Login(t, "admin", herdtest.BootstrapPassword), herdctl: herdtest.Build(t, "../../cmd/herdctl", "herdctl")}
	e.idp = herdtest.StartSimpleSAMLphp(t, s.URL+saml.MetadataPath, s.URL+saml.CallbackPath, samlUsers...)
	e.enable(t, e.settings())

	// Herd's metadata for the IdP's administrator.
	resp, md := s.DoResponse(t, "GET", saml.MetadataPath, "", nil)
	herdtest.Expect(t, "SP metadata", resp.StatusCode, md, http.StatusOK)
	if !strings.Contains(string(md), `entityID="`+s.URL+saml.MetadataPath+`"`) || !strings.Contains(string(md), `Location="`+s.URL+saml.CallbackPath+`"`) {
		t.Errorf("SP metadata lacks the entity id or callback:\n%s", md)
	}

	// east, with a project whose namespace runs web; the IdP group devs is
	// a project member before anyone of it has logged in.
	herd := herdtest.Build(t, "../../cmd/herd", "herd")
	// The management cluster is the package's: east and the project may be
	// there from an earlier test or run.
	code, body := s.Do(t, "POST", "/v1/clusters", e.admin, herdapi.ClusterCreateRequest{Name: "east"})
	if code == http.StatusConflict {
		code, body = s.Do(t, "POST", "/v1/clusters/east/import", e.admin, nil)
	}
	herdtest.Expect(t, "import east", code, body, http.StatusCreated)
	var created herdapi.ClusterCreateResponse // a new cluster; /import answers the ImportInfo alone
	if err := json.Unmarshal(body, &created); err != nil || created.Import.Command == "" {
		err = json.Unmarshal(body, &created.Import)
		if err != nil || created.Import.Command == "" {
			t.Fatalf("no import command in %s", body)
		}
	}
	importCluster(t, s, herd, "east", created.Import.Command)
	code, body = s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "saml-proj", ClusterName: "east"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "create project", code, body, http.StatusCreated)
	}
	herdtest.Eventually(t, "east connected", wait, func() error {
		code, body := s.Do(t, "POST", "/v1/projects/saml-proj/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: "saml-ns", Create: true})
		if code != http.StatusOK && code != http.StatusCreated {
			return fmt.Errorf("add namespace: %d %s", code, body)
		}
		return nil
	})
	east := herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}
	t.Cleanup(func() { _, _, _ = east.Exec("delete", "namespace", "saml-ns", "--wait=false") })
	if _, errOut, err := east.ExecStdin(deployment, "-n", "saml-ns", "apply", "-f", "-"); err != nil {
		t.Fatalf("apply web: %v: %s", err, errOut)
	}
	code, body = s.Do(t, "POST", "/v1/members", e.admin, herdapi.MemberRequest{ProjectName: "saml-proj", RoleTemplate: "project-member",
		Group: saml.GroupPrincipal(e.idp.EntityID, "devs")})
	if code != http.StatusConflict {
		herdtest.Expect(t, "bind devs", code, body, http.StatusCreated)
	}

	t.Run("herdctl login in the browser", func(t *testing.T) {
		home := t.TempDir()
		login := exec.Command(e.herdctl, "login", s.URL, "--provider", "saml", "--no-browser", "--timeout", "2m", "--ca-checksum", server.Checksum(s.CABundle()))
		login.Env = append(os.Environ(), "HOME="+home)
		stderr, err := login.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		login.Stdout = &out
		if err := login.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = login.Process.Kill() })
		urls := make(chan string, 1)
		var printed strings.Builder
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				printed.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "http") {
					urls <- sc.Text()
				}
			}
		}()
		var authURL string
		select {
		case authURL = <-urls:
		case <-time.After(wait):
			t.Fatalf("herdctl printed no login URL:\n%s", printed.String())
		}
		tab := herdtest.StartBrowser(t).NewTab(t)
		tab.Do(t, wait, "open the login URL", chromedp.Navigate(authURL), chromedp.WaitReady(chromedp.CSS(`form input[name="AuthState"]`)))
		tab.Screenshot(t, "saml-idp-login")
		tab.Do(t, wait, "log in at the IdP",
			chromedp.SetValue(chromedp.CSS(`input[name="username"]`), "alice"),
			chromedp.SetValue(chromedp.CSS(`input[name="password"]`), "alice-pw"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('form').submit()`))
		done := make(chan error, 1)
		go func() { done <- login.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("herdctl login: %v\n%s%s", err, out.String(), printed.String())
			}
		case <-time.After(wait):
			t.Fatalf("herdctl login did not finish:\n%s", printed.String())
		}
		herdctl := func(args ...string) string {
			cmd := exec.Command(e.herdctl, args...)
			cmd.Env = append(os.Environ(), "HOME="+home)
			data, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("herdctl %s: %v\n%s", strings.Join(args, " "), err, data)
			}
			return string(data)
		}
		kc := filepath.Join(home, "east.kubeconfig")
		if err := os.WriteFile(kc, []byte(herdctl("kubeconfig", "east")), 0o600); err != nil {
			t.Fatal(err)
		}
		k := herdtest.Kubectl{Kubeconfig: kc}
		herdtest.Eventually(t, "alice lists the project's pods through Herd", wait, func() error {
			out, errOut, err := k.Exec("-n", "saml-ns", "get", "pods", "-l", "app=web", "-o", "name")
			if err != nil || !strings.Contains(out, "pod/web-") {
				return fmt.Errorf("%v: %s%s", err, out, errOut)
			}
			return nil
		})
		if _, errOut, err := k.Exec("-n", "kube-system", "get", "pods"); err == nil || !strings.Contains(errOut, "forbidden") {
			t.Errorf("alice lists kube-system's pods, outside her project: %v %s", err, errOut)
		}
	})

	t.Run("console in the browser", func(t *testing.T) {
		tab := herdtest.StartBrowser(t).NewTab(t)
		tab.Do(t, wait, "open the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-provider="saml"]`)))
		// The console's own login form has a username field too: wait for
		// the IdP's form, which carries its AuthState.
		tab.Do(t, wait, "log in with SAML", chromedp.Click(chromedp.CSS(`button[data-provider="saml"]`)),
			chromedp.WaitReady(chromedp.CSS(`form input[name="AuthState"]`)))
		tab.Do(t, wait, "log in at the IdP",
			chromedp.SetValue(chromedp.CSS(`input[name="username"]`), "alice"),
			chromedp.SetValue(chromedp.CSS(`input[name="password"]`), "alice-pw"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('form').submit()`))
		// The IdP's page posts the answer to Herd, which sends the browser
		// back to the console.
		tab.Do(t, wait, "the console's cluster list", chromedp.WaitVisible(chromedp.CSS("#cluster-list")))
		tab.WaitText(t, "#who", "alice", wait)
		tab.Screenshot(t, "saml-logged-in")
	})

	t.Run("refused", func(t *testing.T) {
		if code, _ := e.callback(t, samlUsers[1], 0); code != http.StatusBadRequest {
			t.Errorf("bob, outside the allowed principals: %d, want 400", code)
		}
		code, form := e.callback(t, samlUsers[0], 0)
		if code != http.StatusFound {
			t.Fatalf("alice: %d, want 302 to herdctl", code)
		}
		if code := e.post(t, form); code != http.StatusBadRequest {
			t.Errorf("alice's answer posted again: %d, want 400", code)
		}

		// Assertions valid for 1 s, a clock skew of 1 s, posted 3 s later.
		e.idp.SetAssertionLifetime(t, time.Second)
		e.enable(t, e.settings("clockSkew", "1s"))
		if code, _ := e.callback(t, samlUsers[0], 3*time.Second); code != http.StatusBadRequest {
			t.Errorf("an expired assertion: %d, want 400", code)
		}
		e.idp.SetAssertionLifetime(t, 5*time.Minute)

		// The IdP's metadata with another signing key.
		resp, err := http.Get(e.idp.MetadataURL)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		forged := regexp.MustCompile(`(<ds:X509Certificate>)[^<]+(</ds:X509Certificate>)`).ReplaceAllString(string(doc), "${1}"+herdtest.SAMLCertificate(t)+"${2}")
		if forged == string(doc) {
			t.Fatalf("no certificate in the IdP's metadata:\n%s", doc)
		}
		settings := e.settings()
		delete(settings, "idpMetadataURL")
		settings["idpMetadata"] = forged
		e.enable(t, settings)
		if code, _ := e.callback(t, samlUsers[0], 0); code != http.StatusBadRequest {
			t.Errorf("an answer signed by a key the metadata does not hold: %d, want 400", code)
		}
		e.enable(t, e.settings())
		if code, _ := e.callback(t, samlUsers[0], 0); code != http.StatusFound {
			t.Errorf("alice after the refusals: %d, want 302", code)
		}
		for _, reason := range []string{"is not among the allowed principals", "unknown or used", "expired", "verify"} {
			if !strings.Contains(s.Logs.String(), reason) {
				t.Errorf("the server's log does not say %q", reason)
			}
		}
	})
}
