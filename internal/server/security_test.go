package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
	"herd.dev/herd/internal/wellknown"
)

// TestScopedTokens: a token scoped to a cluster works only for that
// cluster's proxy; every /v1 route refuses it, so it cannot mint others.
// A scoped token needs access to its cluster.
func TestScopedTokens(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/tokens", admin, herdapi.TokenCreateRequest{Kind: "kubeconfig", ClusterName: "local"})
	herdtest.Expect(t, "a token scoped to local", code, body, http.StatusCreated)
	scoped := decodeJSON[herdapi.TokenResponse](t, body).Token

	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/v1/me", ""},
		{"POST", "/v1/tokens", `{"kind": "kubeconfig"}`},
		{"GET", "/v1/clusters/local/kubeconfig", ""},
		{"GET", "/v1/tokens", ""},
		{"POST", "/v1/users", `{"username": "mallory", "password": "mallory-password-1"}`},
		{"GET", "/v1/clusters", ""},
		{"POST", "/v1/logout", ""},
	} {
		var b any
		if tt.body != "" {
			b = tt.body
		}
		if code, body := s.Do(t, tt.method, tt.path, scoped, b); code != http.StatusUnauthorized || !strings.Contains(string(body), "scoped") {
			t.Errorf("%s %s with a scoped token: got %d %s, want 401 saying it is scoped", tt.method, tt.path, code, body)
		}
	}
	if code, body := s.Do(t, "GET", "/k8s/clusters/local/api/v1/namespaces/default", scoped, nil); code != http.StatusOK {
		t.Errorf("the scoped token on its own cluster: got %d %s", code, body)
	}

	// A user with no role in a cluster cannot get a token scoped to it.
	code, body = s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "scope-c"})
	if code != http.StatusConflict {
		herdtest.Expect(t, "cluster scope-c", code, body, http.StatusCreated)
	}
	createUserIfAbsent(t, s, admin, "sam", "sam-password-1234")
	sam := s.Login(t, "sam", "sam-password-1234")
	for _, cluster := range []string{"scope-c", "local"} {
		code, body := s.Do(t, "POST", "/v1/tokens", sam, herdapi.TokenCreateRequest{Kind: "kubeconfig", ClusterName: cluster})
		herdtest.Expect(t, "sam's token for "+cluster, code, body, http.StatusNotFound)
		code, body = s.Do(t, "GET", "/v1/clusters/"+cluster+"/kubeconfig", sam, nil)
		herdtest.Expect(t, "sam's kubeconfig for "+cluster, code, body, http.StatusNotFound)
	}
	code, body = s.Do(t, "DELETE", "/v1/clusters/scope-c?force=true", admin, nil)
	herdtest.Expect(t, "delete scope-c", code, body, http.StatusNoContent)
}

func createUserIfAbsent(t *testing.T, s *herdtest.Server, admin, username, password string) {
	t.Helper()
	code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: username, Password: password})
	if code != http.StatusConflict {
		herdtest.Expect(t, "create user "+username, code, body, http.StatusCreated)
	}
}

// TestTokenQuota: a user holds a bounded number of live tokens; creating
// one more is a clear 403, a login ends the oldest session instead.
func TestTokenQuota(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.MaxTokensPerUser = 3 })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	createUserIfAbsent(t, s, admin, "quinn", "quinn-password-1234")
	first := s.Login(t, "quinn", "quinn-password-1234")
	var made []string
	for len(made) < 2 {
		code, body := s.Do(t, "POST", "/v1/tokens", first, herdapi.TokenCreateRequest{Kind: "kubeconfig"})
		herdtest.Expect(t, "a token within the quota", code, body, http.StatusCreated)
		made = append(made, decodeJSON[herdapi.TokenResponse](t, body).Info.Name)
	}
	code, body := s.Do(t, "POST", "/v1/tokens", first, herdapi.TokenCreateRequest{Kind: "kubeconfig"})
	if code != http.StatusForbidden || !strings.Contains(string(body), "quota") || !strings.Contains(string(body), "herdctl tokens revoke") {
		t.Fatalf("a token past the quota: got %d %s, want 403 naming the quota and how to revoke", code, body)
	}
	// A login still works: it ends the oldest session (first).
	second := s.Login(t, "quinn", "quinn-password-1234")
	if code, _ := s.Do(t, "GET", "/v1/me", first, nil); code != http.StatusUnauthorized {
		t.Errorf("the oldest session after a login past the quota: got %d, want 401", code)
	}
	code, body = s.Do(t, "GET", "/v1/tokens", second, nil)
	herdtest.Expect(t, "list", code, body, http.StatusOK)
	if n := len(decodeJSON[herdapi.TokenList](t, body).Items); n != 3 {
		t.Errorf("quinn holds %d tokens, want the quota of 3", n)
	}
	// Revoking one makes room.
	code, body = s.Do(t, "DELETE", "/v1/tokens/"+made[0], second, nil)
	herdtest.Expect(t, "revoke", code, body, http.StatusNoContent)
	code, body = s.Do(t, "POST", "/v1/tokens", second, herdapi.TokenCreateRequest{Kind: "kubeconfig"})
	herdtest.Expect(t, "a token after a revocation", code, body, http.StatusCreated)
	last := decodeJSON[herdapi.TokenResponse](t, body)

	// Every /v1 write and every issued token is audited with its actor,
	// never with a secret.
	quinn := authn.UserObjectName("quinn")
	logs := s.Logs.String()
	for _, want := range []string{
		`"msg":"api","log":"audit","actor":"` + quinn + `","method":"POST","path":"/v1/tokens","status":201`,
		`"msg":"api","log":"audit","actor":"` + quinn + `","method":"POST","path":"/v1/tokens","status":403`,
		`"msg":"api","log":"audit","actor":"` + quinn + `","method":"DELETE","path":"/v1/tokens/` + made[0] + `","status":204`,
		`"msg":"token issued","log":"audit","actor":"` + quinn + `","user":"` + quinn + `","token":"` + last.Info.Name + `"`,
		`"msg":"session ended: token quota","log":"audit","user":"` + quinn + `"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no audit line with %s", want)
		}
	}
	for _, tok := range []string{first, second, last.Token} {
		if _, secret, _ := strings.Cut(tok, ":"); strings.Contains(logs, secret) {
			t.Error("a token secret is in the log")
		}
	}
}

// TestLoginBurst: concurrent wrong passwords for one username cannot run
// past the failure limit: each attempt counts before its check.
func TestLoginBurst(t *testing.T) {
	s := onMgmt(t, nil) // 3 failures per username per 3 s
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	createUserIfAbsent(t, s, admin, "burst", "burst-password-1234")
	counts := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			code, _ := s.Do(t, "POST", "/v1/login", "", map[string]string{"username": "burst", "password": "wrong-password-123"})
			mu.Lock()
			counts[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[http.StatusUnauthorized] > 3 || counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 20 {
		t.Errorf("20 concurrent wrong passwords: got %v, want at most 3 checked (401) and the rest 429", counts)
	}
}

// TestLoginConcurrencyLimit: password checks beyond MaxConcurrentLogins
// wait a second for a slot, then get 503 with Retry-After; the server keeps
// answering.
func TestLoginConcurrencyLimit(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.MaxConcurrentLogins = 1 })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	// Logins from 8 source addresses, so the per-address limit (12 per 3 s
	// here) does not answer first.
	clients := make([]*http.Client, 8)
	for i := range clients {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}}
		clients[i] = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	type answer struct {
		code       int
		retryAfter string
	}
	answers := make(chan answer, 80)
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() {
			body := fmt.Sprintf(`{"username": "nobody-%d", "password": "some-password-123"}`, i)
			resp, err := clients[i%len(clients)].Post(s.URL+"/v1/login", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After")}
		})
	}
	wg.Wait()
	close(answers)
	counts := map[int]int{}
	for a := range answers {
		counts[a.code]++
		if a.code == http.StatusServiceUnavailable && a.retryAfter == "" {
			t.Error("a 503 without Retry-After")
		}
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized] == 0 ||
		counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != 80 {
		t.Errorf("80 logins with one check at a time: got %v, want 401s and 503s only", counts)
	}
	if code, _ := s.Do(t, "GET", "/healthz", "", nil); code != http.StatusOK {
		t.Errorf("healthz after the burst: %d", code)
	}
}

// TestSlowClientIsCutOff: a request body that does not arrive within the
// read timeout ends the request instead of holding it.
func TestSlowClientIsCutOff(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.RequestReadTimeout = time.Second })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	got, _ := io.ReadAll(conn) // an answer, then the end of the connection
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a body that never arrives held the request %s (answer %q), want it cut off after the 1 s read timeout", took, got)
	}
}

// TestBrowserLoginFlowsCapped: past MaxLoginFlows outstanding browser
// logins, starting one answers 503.
func TestBrowserLoginFlowsCapped(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.MaxLoginFlows = 2 })
	c, err := client.New(s.ManagementConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		flow := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("login-capped-%d", i), Namespace: wellknown.Namespace,
			Labels:      map[string]string{"herd.dev/login-flow": "true"},
			Annotations: map[string]string{"herd.dev/login-flow-expires": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}}
		_ = c.Delete(ctx, flow)
		if err := c.Create(ctx, flow); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), flow) })
	}
	req := herdapi.RedirectLoginRequest{CLIRedirect: "http://127.0.0.1:9/cb", CLIChallenge: strings.Repeat("A", 43)}
	code, body := s.Do(t, "POST", "/v1/auth/login/github", "", req)
	herdtest.Expect(t, "a browser login past the cap", code, body, http.StatusServiceUnavailable)
}

// TestBrowserLoginNeedsServerURL: without --server-url, browser providers
// cannot be enabled and browser logins do not start (the redirect URI
// would come from the request's Host header).
func TestBrowserLoginNeedsServerURL(t *testing.T) {
	s := onMgmt(t, func(c *server.Config) { c.ServerURL = herdtest.WithoutServerURL })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	enabled := true
	code, body := s.Do(t, "PUT", "/v1/auth/providers/github", admin, herdapi.ProviderUpdate{Enabled: &enabled,
		Settings: map[string]string{"clientID": "Iv1.test"}, Secrets: map[string]string{"clientSecret": "s3cret"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "--server-url") {
		t.Errorf("enable github without --server-url: got %d %s, want 422 naming --server-url", code, body)
	}
	// Enabled behind Herd's back, a login still does not start.
	c, err := client.New(s.ManagementConfig(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	ac := &v1.AuthConfig{ObjectMeta: metav1.ObjectMeta{Name: "github"}, Spec: v1.AuthConfigSpec{Type: "github", Enabled: true,
		Settings: map[string]string{"clientID": "Iv1.test"}}}
	ctx := context.Background()
	_ = c.Delete(ctx, ac)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "authconfig-github", Namespace: wellknown.Namespace},
		StringData: map[string]string{"clientSecret": "s3cret"}}
	_ = c.Delete(ctx, secret)
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, ac); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ac); _ = c.Delete(context.Background(), secret) })
	req := herdapi.RedirectLoginRequest{CLIRedirect: "http://127.0.0.1:9/cb", CLIChallenge: strings.Repeat("A", 43)}
	herdtest.Eventually(t, "a browser login without --server-url is refused", 5*time.Second, func() error {
		resp, body := s.DoResponse(t, "POST", "/v1/auth/login/github", "", req)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "--server-url") {
			return fmt.Errorf("got %d %s", resp.StatusCode, body)
		}
		return nil
	})
}

// TestManagingUsersCannotEscalate: setting a password, disabling, enabling,
// deleting or refreshing a user takes every global right that user holds.
func TestManagingUsersCannotEscalate(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	ctx := context.Background()
	c, err := client.New(s.ManagementConfig(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	manager := &v1.GlobalRole{ObjectMeta: metav1.ObjectMeta{Name: "user-admin"}, Spec: v1.GlobalRoleSpec{Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"users"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	}}}
	_ = c.Delete(ctx, manager)
	if err := c.Create(ctx, manager); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ula", "pat", "adm2"} {
		_ = c.Delete(ctx, &v1.User{ObjectMeta: metav1.ObjectMeta{Name: authn.UserObjectName(u)}})
	}
	time.Sleep(500 * time.Millisecond)
	for _, tt := range []struct {
		name  string
		roles []string
	}{{"ula", []string{"user-admin", "user-base"}}, {"pat", []string{"user-base"}}, {"adm2", []string{"admin"}}} {
		code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: tt.name, Password: tt.name + "-password-1234",
			GlobalRoles: tt.roles})
		herdtest.Expect(t, "create "+tt.name, code, body, http.StatusCreated)
	}
	ula := s.Login(t, "ula", "ula-password-1234")
	disable, enable := false, true
	for _, target := range []struct {
		name string
		want int
	}{{"adm2", http.StatusForbidden}, {"pat", 0}} {
		for _, op := range []struct {
			what, method, path string
			body               any
			ok                 int
		}{
			{"set the password of", "PUT", "/v1/users/" + target.name + "/password", herdapi.PasswordRequest{Password: "taken-over-password-1"}, http.StatusNoContent},
			{"disable", "PATCH", "/v1/users/" + target.name, herdapi.UserUpdateRequest{Enabled: &disable}, http.StatusOK},
			{"enable", "PATCH", "/v1/users/" + target.name, herdapi.UserUpdateRequest{Enabled: &enable}, http.StatusOK},
			{"refresh", "POST", "/v1/users/" + target.name + "/refresh", nil, http.StatusOK},
			{"delete", "DELETE", "/v1/users/" + target.name, nil, http.StatusNoContent},
		} {
			want := target.want
			if want == 0 {
				want = op.ok
			}
			code, body := s.Do(t, op.method, op.path, ula, op.body)
			if code != want || (want == http.StatusForbidden && !strings.Contains(string(body), "do not hold")) {
				t.Errorf("ula may %s %s: got %d %s, want %d", op.what, target.name, code, body, want)
			}
		}
	}
	// Nothing of adm2 was changed: she still logs in with her password.
	s.Login(t, "adm2", "adm2-password-1234")

	for _, name := range []string{"u-abcdefghijkl", "t-abc", "system-admin"} {
		code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: name, Password: "reserved-password-1"})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "reserved") {
			t.Errorf("username %s: got %d %s, want 422 reserved", name, code, body)
		}
	}
}
