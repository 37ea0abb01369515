package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/herdtoken"
)

// idpEnv is an env on east with a project whose namespace the identity
// providers' users get roles in.
type idpEnv struct {
	*env
	down herdtest.Kubectl
}

const idpNamespace = "idp-a"

func newIdpEnv(t *testing.T) *idpEnv {
	e := &idpEnv{env: newEnv(t, "east"), down: herdtest.Kubectl{Kubeconfig: clusters.Get("east").KubeconfigPath()}}
	code, body := e.s.Do(t, "POST", "/v1/projects", e.admin, herdapi.ProjectCreateRequest{Name: "idp", ClusterName: "east"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "create project idp", code, body, http.StatusCreated)
	}
	code, body = e.s.Do(t, "POST", "/v1/projects/idp/namespaces", e.admin, herdapi.ProjectNamespaceRequest{Namespace: idpNamespace, Create: true})
	herdtest.Expect(t, "namespace idp-a", code, body, http.StatusOK)
	return e
}

// configure enables a provider.
func (e *idpEnv) configure(t *testing.T, typ string, settings, secrets map[string]string) {
	t.Helper()
	enabled := true
	code, body := e.s.Do(t, "PUT", "/v1/auth/providers/"+typ, e.admin, herdapi.ProviderUpdate{Enabled: &enabled, Settings: settings, Secrets: secrets})
	herdtest.Expect(t, "enable "+typ, code, body, http.StatusOK)
	if strings.Contains(string(body), secrets["clientSecret"]+`"`) && secrets["clientSecret"] != "" {
		t.Errorf("the provider's secret is shown: %s", body)
	}
}

// bindGroup gives a group project-member in project idp.
func (e *idpEnv) bindGroup(t *testing.T, group string) {
	t.Helper()
	code, body := e.s.Do(t, "POST", "/v1/members", e.admin, herdapi.MemberRequest{ProjectName: "idp", RoleTemplate: "project-member", Group: group})
	if code != http.StatusConflict {
		herdtest.Expect(t, "bind "+group, code, body, http.StatusCreated)
	}
}

// browserLogin runs Herd's browser login for a redirect provider: the
// CLI's part (loopback redirect, verifier) is played here, and authorize
// plays the user at the provider, returning the query of the provider's
// redirect back to Herd.
func (e *idpEnv) browserLogin(t *testing.T, typ string, authorize func(authURL, callback string) url.Values) string {
	t.Helper()
	verifier := herdtoken.NewSecret()
	sum := sha256.Sum256([]byte(verifier))
	cliRedirect := "http://127.0.0.1:1/callback" // never fetched: the ticket is read off the redirect
	code, body := e.s.Do(t, "POST", "/v1/auth/login/"+typ, "", herdapi.RedirectLoginRequest{CLIRedirect: cliRedirect,
		CLIChallenge: base64.RawURLEncoding.EncodeToString(sum[:])})
	herdtest.Expect(t, "start "+typ+" login", code, body, http.StatusOK)
	var start herdapi.RedirectLoginResponse
	if err := decode(body, &start); err != nil {
		t.Fatal(err)
	}
	callback := e.s.URL + "/v1/auth/callback/" + typ
	back := authorize(start.AuthURL, callback)
	noFollow := *e.s.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(callback + "?" + back.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), cliRedirect) || loc.Query().Get("ticket") == "" {
		t.Fatalf("callback: %s, location %v", resp.Status, loc)
	}
	// Replaying the provider's answer to Herd is refused.
	if resp, err := noFollow.Get(callback + "?" + back.Encode()); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %v %v, want 400", resp.Status, err)
	}
	// A ticket without the CLI's verifier is refused, and used up.
	ticket := loc.Query().Get("ticket")
	code, body = e.s.Do(t, "POST", "/v1/auth/tickets", "", herdapi.TicketRedeemRequest{Ticket: herdtoken.NewSecret(), Verifier: verifier})
	herdtest.Expect(t, "unknown ticket", code, body, http.StatusUnauthorized)
	code, body = e.s.Do(t, "POST", "/v1/auth/tickets", "", herdapi.TicketRedeemRequest{Ticket: ticket, Verifier: verifier})
	herdtest.Expect(t, "redeem the ticket", code, body, http.StatusCreated)
	var tok herdapi.TokenResponse
	if err := decode(body, &tok); err != nil {
		t.Fatal(err)
	}
	code, body = e.s.Do(t, "POST", "/v1/auth/tickets", "", herdapi.TicketRedeemRequest{Ticket: ticket, Verifier: verifier})
	herdtest.Expect(t, "redeem the ticket again", code, body, http.StatusUnauthorized)
	return tok.Token
}

// browserLoginStatus runs a browser login up to Herd's callback and
// returns the callback's status.
func (e *idpEnv) browserLoginStatus(t *testing.T, typ string, authorize func(authURL, callback string) url.Values) int {
	t.Helper()
	sum := sha256.Sum256([]byte(herdtoken.NewSecret()))
	code, body := e.s.Do(t, "POST", "/v1/auth/login/"+typ, "", herdapi.RedirectLoginRequest{CLIRedirect: "http://127.0.0.1:1/callback",
		CLIChallenge: base64.RawURLEncoding.EncodeToString(sum[:])})
	herdtest.Expect(t, "start "+typ+" login", code, body, http.StatusOK)
	var start herdapi.RedirectLoginResponse
	if err := decode(body, &start); err != nil {
		t.Fatal(err)
	}
	callback := e.s.URL + "/v1/auth/callback/" + typ
	noFollow := *e.s.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(callback + "?" + authorize(start.AuthURL, callback).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// kubeconfigWorks fetches a kubeconfig with token and lists pods of the
// project's namespace with it.
func (e *idpEnv) kubeconfigWorks(t *testing.T, token string) {
	t.Helper()
	resp, body := e.s.DoResponse(t, "GET", "/v1/clusters/east/kubeconfig", token, nil)
	herdtest.Expect(t, "kubeconfig", resp.StatusCode, body, http.StatusOK)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	k := herdtest.Kubectl{Kubeconfig: path}
	herdtest.Eventually(t, "pods of idp-a with the kubeconfig", 5*time.Second, func() error {
		if _, errOut, err := k.Exec("get", "pods", "-n", idpNamespace); err != nil {
			return fmt.Errorf("%v %s", err, errOut)
		}
		return nil
	})
	if _, errOut, err := k.Exec("get", "pods", "-n", "kube-system"); err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("outside the project: %v %s, want forbidden", err, errOut)
	}
}

func TestIdentityProviders(t *testing.T) {
	e := newIdpEnv(t)

	t.Run("LDAP", func(t *testing.T) { e.testLDAP(t) })

	t.Run("OIDC", func(t *testing.T) {
		p := herdtest.StartOIDCProvider(t)
		e.configure(t, "oidc", map[string]string{"issuerURL": p.Issuer, "clientID": p.IDTokenClient.ID,
			"allowedPrincipals": "oidc_group://" + p.Issuer + "/devs"},
			map[string]string{"clientSecret": p.IDTokenClient.Secret})
		e.bindGroup(t, "oidc_group://"+p.Issuer+"/devs")
		alice := p.User(t, "alice")
		token := e.browserLogin(t, "oidc", func(authURL, callback string) url.Values {
			return p.Login(t, authURL, callback, alice.Username, alice.Password)
		})
		e.kubeconfigWorks(t, token)
	})

	t.Run("GitHub", func(t *testing.T) {
		g := herdtest.StartGitHub(t)
		e.configure(t, "github", map[string]string{"baseURL": g.URL, "clientID": g.ClientID, "certificate": g.CAPEM,
			"allowedPrincipals": "github_team://7001"},
			map[string]string{"clientSecret": g.ClientSecret, "searchToken": g.SearchToken})
		// octocat is in team acme/devs (id 7001) of the stand-in.
		login, team := "octocat", 7001
		e.bindGroup(t, fmt.Sprintf("github_team://%d", team))
		// GitHub and OIDC are restricted by default: hubot is in no allowed team.
		if code := e.browserLoginStatus(t, "github", func(authURL, _ string) url.Values { return g.Authorize(t, authURL, "hubot") }); code != http.StatusBadRequest {
			t.Errorf("a GitHub user outside the allowed principals: callback %d, want 400", code)
		}
		token := e.browserLogin(t, "github", func(authURL, _ string) url.Values { return g.Authorize(t, authURL, login) })
		e.kubeconfigWorks(t, token)
		// Revoked at GitHub: the next refresh ends the user's tokens.
		g.RevokeTokens(login)
		code, body := e.s.Do(t, "POST", "/v1/users/"+authn.ExternalUserObjectName("github_user://1001")+"/refresh", e.admin, nil)
		herdtest.Expect(t, "refresh octocat", code, body, http.StatusOK)
		code, body = e.s.Do(t, "GET", "/v1/me", token, nil)
		herdtest.Expect(t, "octocat's token after the refresh", code, body, http.StatusUnauthorized)
	})
}

// testLDAP: a user of a real slapd whose group is bound to project-member
// logs in and uses kubectl through the proxy; taken out of the group and
// refreshed, the next request is refused; injection attempts fail.
func (e *idpEnv) testLDAP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sl, err := herdtest.StartSlapd(ctx, herdtest.SlapdOptions{})
	if err != nil {
		t.Fatalf("slapd: %v", err)
	}
	t.Cleanup(sl.Stop)
	d := sl.Directory(authn.ProviderOpenLDAP)
	e.configure(t, authn.ProviderOpenLDAP, map[string]string{
		"servers": sl.TLSAddr, "tls": "ldaps", "certificate": string(sl.CAPEM), "serviceAccountDN": d.ServiceDN,
		"userSearchBase": d.UsersDN, "groupSearchBase": d.GroupsDN, "nestedGroups": "true",
	}, map[string]string{"bindPassword": d.ServicePassword})
	e.bindGroup(t, "openldap_group://"+sl.GroupDN(authn.ProviderOpenLDAP, "devs"))
	bob := sl.User(authn.ProviderOpenLDAP, "bob")

	login := func(username, password string) (int, []byte) {
		return e.s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Provider: authn.ProviderOpenLDAP, Username: username, Password: password})
	}
	for _, attempt := range []string{"*", "*)(uid=*", "admin)(|(uid=*", "bob)(|(uid=*"} {
		code, body := login(attempt, bob.Password)
		herdtest.Expect(t, "LDAP injection "+attempt, code, body, http.StatusUnauthorized)
	}
	code, body := login("bob", "")
	herdtest.Expect(t, "empty password", code, body, http.StatusUnauthorized)

	// herdctl logs in with the provider and writes a working kubeconfig.
	run := newHerdctl(t).run
	run(bob.Password+"\n", "login", e.s.URL, "--provider", "openldap", "--username", "bob", "--password-stdin", "--ca-checksum", checksum(e.env))
	kcPath := filepath.Join(t.TempDir(), "bob.kubeconfig")
	if err := os.WriteFile(kcPath, []byte(run("", "kubeconfig", "east")), 0o600); err != nil {
		t.Fatal(err)
	}
	k := herdtest.Kubectl{Kubeconfig: kcPath}
	herdtest.Eventually(t, "bob lists pods of idp-a", 5*time.Second, func() error {
		if _, errOut, err := k.Exec("get", "pods", "-n", idpNamespace); err != nil {
			return fmt.Errorf("%v %s", err, errOut)
		}
		return nil
	})

	// Out of the group in the directory, refreshed: refused.
	if err := sl.RemoveFromGroup(ctx, authn.ProviderOpenLDAP, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	code, body = e.s.Do(t, "POST", "/v1/users/"+authn.ExternalUserObjectName("openldap_user://"+bob.DN)+"/refresh", e.admin, nil)
	herdtest.Expect(t, "refresh bob", code, body, http.StatusOK)
	herdtest.Eventually(t, "bob refused after leaving devs", 5*time.Second, func() error {
		_, errOut, err := k.Exec("get", "pods", "-n", idpNamespace)
		if err == nil || !(strings.Contains(errOut, "Forbidden") || strings.Contains(errOut, "not found")) {
			return fmt.Errorf("still allowed: %v %s", err, errOut)
		}
		return nil
	})

	// Principal search finds the directory's groups, for binding before anyone logs in.
	code, body = e.s.Do(t, "GET", "/v1/principals?q=dev", e.admin, nil)
	herdtest.Expect(t, "search principals", code, body, http.StatusOK)
	if want := "openldap_group://" + sl.GroupDN(authn.ProviderOpenLDAP, "devs"); !strings.Contains(string(body), want) {
		t.Errorf("principal search for dev: %s, want %s", body, want)
	}

	// The directory down: LDAP logins fail clearly, the local admin still logs in.
	sl.Stop()
	code, body = login("alice", sl.User(authn.ProviderOpenLDAP, "alice").Password)
	herdtest.Expect(t, "LDAP login with the directory down", code, body, http.StatusServiceUnavailable)
	e.s.Login(t, "admin", herdtest.BootstrapPassword)
}
