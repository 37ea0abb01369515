package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestAgentCredentials: agent tokens are random, one per registration,
// stored hashed and ended by a reissued import command; a second agent
// connection does not evict the first; a registration changes the
// cluster's endpoint or credential only once Herd has verified it.
func TestAgentCredentials(t *testing.T) {
	e := newEnv(t, "east")
	lc := clusters.Get("east")
	k := e.kubectl(t, e.admin)
	ca, err := os.ReadFile(lc.CACertPath())
	if err != nil {
		t.Fatal(err)
	}
	agentCfg, err := clientcmd.LoadFromFile(e.agentKC)
	if err != nil {
		t.Fatal(err)
	}
	var saToken string
	for _, u := range agentCfg.AuthInfos {
		saToken = u.Token
	}
	reg := herdapi.AgentRegistration{APIEndpoint: lc.ServerURL(), CACert: string(ca), Token: saToken}
	register := func(t *testing.T, bearer string, r herdapi.AgentRegistration, want int) string {
		t.Helper()
		code, body := e.s.Do(t, "POST", "/v1/agent/register", bearer, r)
		herdtest.Expect(t, "register", code, body, want)
		var out herdapi.AgentRegistrationResponse
		_ = decode(body, &out)
		return out.AgentToken
	}

	t.Run("one random agent token per registration, stored hashed", func(t *testing.T) {
		a, b := register(t, e.regTok, reg, http.StatusOK), register(t, e.regTok, reg, http.StatusOK)
		if a == b || !strings.HasPrefix(a, "at-") || !strings.HasPrefix(b, "at-") {
			t.Fatalf("two registrations got %q and %q, want two different agent tokens", a, b)
		}
		if again := register(t, a, reg, http.StatusOK); again != a {
			t.Errorf("registering again with an agent token got %q, want the same token back", again)
		}
		mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		stored := mgmt.Run(t, "get", "clusteragenttokens.management.herd.dev", "-l", "management.herd.dev/cluster=east", "-o", "yaml")
		_, secret, _ := strings.Cut(a, ":")
		if strings.Contains(stored, secret) || !strings.Contains(stored, "tokenHash: sha256:") {
			t.Errorf("agent tokens are not stored hashed only:\n%s", stored)
		}
	})

	t.Run("a registration with another cluster's CA is refused", func(t *testing.T) {
		other, err := os.ReadFile(clusters.Get("west").CACertPath())
		if err != nil {
			t.Fatal(err)
		}
		bad := reg
		bad.CACert = string(other)
		register(t, e.regTok, bad, http.StatusConflict)
	})

	t.Run("a second connection does not evict the first", func(t *testing.T) {
		second, logs := e.agentProcess(t, e.regTok, e.agentKC)
		defer func() {
			_ = second.Process.Kill()
			_ = second.Wait()
		}()
		herdtest.Eventually(t, "the second agent connects", 20*time.Second, func() error {
			if !strings.Contains(logs.String(), "tunnel up") {
				return fmt.Errorf("second agent: %s", logs.String())
			}
			return nil
		})
		if strings.Contains(e.s.Logs.String(), "replaced") {
			t.Error("a session was replaced by the second connection")
		}
		// The first agent dies without a word: requests go on through the
		// second at once.
		e.stopAgent()
		for i := range 10 {
			if _, errOut, err := k.Exec("get", "ns", "default"); err != nil {
				t.Fatalf("request %d after the first agent died: %v %s", i, err, errOut)
			}
		}
		e.startAgent(t)
	})

	t.Run("a changed registration is used only once verified", func(t *testing.T) {
		agentTok := register(t, e.regTok, reg, http.StatusOK)
		mark := len(e.s.Logs.String())
		since := func() string { return e.s.Logs.String()[mark:] }
		// An endpoint the agent does not serve cannot be checked: the
		// change waits, the old registration goes on working.
		bogus := reg
		bogus.APIEndpoint = "https://127.0.0.1:1"
		register(t, agentTok, bogus, http.StatusOK)
		herdtest.Eventually(t, "the unreachable change waits", 20*time.Second, func() error {
			if !strings.Contains(since(), "cluster registration change not verified yet") {
				return fmt.Errorf("no word of it in the log")
			}
			return nil
		})
		k.Run(t, "get", "ns", "default")
		// A credential the cluster refuses is dropped.
		forged := reg
		forged.Token = "not-a-token-of-east"
		register(t, agentTok, forged, http.StatusOK)
		herdtest.Eventually(t, "the refused credential is dropped", 20*time.Second, func() error {
			if !strings.Contains(since(), "cluster registration change refused") {
				return fmt.Errorf("no refusal in the log")
			}
			return nil
		})
		if strings.Contains(since(), `"msg":"cluster registration changed"`) {
			t.Error("an unverified registration was taken")
		}
		k.Run(t, "get", "ns", "default")
		// A new credential of the same service account is verified and used.
		down := herdtest.Kubectl{Kubeconfig: lc.KubeconfigPath()}
		fresh := reg
		fresh.Token = strings.TrimSpace(down.Run(t, "-n", "herd-system", "create", "token", "herd-agent", "--duration=1h"))
		register(t, agentTok, fresh, http.StatusOK)
		herdtest.Eventually(t, "the verified change is used", 20*time.Second, func() error {
			if !strings.Contains(since(), `"msg":"cluster registration changed"`) {
				return fmt.Errorf("no change in the log")
			}
			return nil
		})
		herdtest.Eventually(t, "kubectl through the new credential", 10*time.Second, func() error {
			_, errOut, err := k.Exec("get", "ns", "default")
			if err != nil {
				return fmt.Errorf("%v %s", err, errOut)
			}
			return nil
		})
	})

	t.Run("a reissued import command ends the old agent tokens", func(t *testing.T) {
		old := register(t, e.regTok, reg, http.StatusOK)
		code, body := e.s.Do(t, "POST", "/v1/clusters/east/import", e.admin, herdapi.ImportRequest{GracePeriodSeconds: -1})
		herdtest.Expect(t, "reissue the import command", code, body, http.StatusCreated)
		register(t, old, reg, http.StatusUnauthorized)
		if code, _ := e.s.Do(t, "GET", "/v1/connect", old, nil); code != http.StatusUnauthorized {
			t.Errorf("the tunnel with an ended agent token: got %d, want 401", code)
		}
		e.waitConnected(t, "False") // the running agent lost its session and cannot come back
		// The new import command brings it back.
		var info herdapi.ImportInfo
		if err := decode(body, &info); err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimSuffix(info.URL[strings.Index(info.URL, "/v1/import/")+len("/v1/import/"):], ".yaml")
		e.stopAgent()
		e.regTok = tok
		e.startAgent(t)
		e.waitConnected(t, "True")
		k.Run(t, "get", "ns", "default")
	})
}
