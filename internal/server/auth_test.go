package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// secrets collects every password and token secret a test handled, for
// the leak check at its end.
type secrets []string

func (s *secrets) token(tok string) string {
	if _, secret, ok := strings.Cut(tok, ":"); ok {
		*s = append(*s, secret)
	}
	return tok
}

func decodeJSON[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T: %v in %s", v, err, body)
	}
	return v
}

func createUser(t *testing.T, s *herdtest.Server, admin, username, password string) {
	t.Helper()
	code, body := s.Do(t, "POST", "/v1/users", admin, herdapi.UserCreateRequest{Username: username, Password: password})
	herdtest.Expect(t, "create user "+username, code, body, http.StatusCreated)
}

// TestTokens covers login, token lifetimes, revocation, logout, expiry and
// what becomes of a disabled or deleted user's tokens.
func TestTokens(t *testing.T) {
	s := onMgmt(t, nil)
	var seen secrets
	seen = append(seen, herdtest.BootstrapPassword)
	admin := seen.token(s.Login(t, "admin", herdtest.BootstrapPassword))

	name, secret, _ := strings.Cut(admin, ":")
	if !strings.HasPrefix(name, "t-") || len(secret) < 43 {
		t.Errorf("token %s:<%d chars>: want t-NAME:<at least 43 base64 chars = 256 bits>", name, len(secret))
	}
	code, body := s.Do(t, "GET", "/v1/me", admin, nil)
	herdtest.Expect(t, "me", code, body, 200)
	if me := decodeJSON[herdapi.User](t, body); me.Username != "admin" || !strings.Contains(strings.Join(me.GlobalRoles, ","), "admin") {
		t.Errorf("me: got %+v, want admin with the admin role", me)
	}

	t.Run("lifetimes", func(t *testing.T) {
		for _, tt := range []struct {
			kind string
			want time.Duration
		}{{"session", 16 * time.Hour}, {"kubeconfig", 30 * 24 * time.Hour}} {
			code, body := s.Do(t, "POST", "/v1/tokens", admin, herdapi.TokenCreateRequest{Kind: tt.kind})
			herdtest.Expect(t, "create "+tt.kind, code, body, http.StatusCreated)
			got := decodeJSON[herdapi.TokenResponse](t, body)
			seen.token(got.Token)
			if d := time.Until(got.Info.ExpiresAt) - tt.want; d > time.Minute || d < -time.Minute {
				t.Errorf("%s token expires in %v, want %v", tt.kind, time.Until(got.Info.ExpiresAt), tt.want)
			}
		}
	})

	t.Run("expired, revoked, logged out", func(t *testing.T) {
		code, body := s.Do(t, "POST", "/v1/tokens", admin, herdapi.TokenCreateRequest{TTLSeconds: 1})
		herdtest.Expect(t, "short token", code, body, http.StatusCreated)
		short := seen.token(decodeJSON[herdapi.TokenResponse](t, body).Token)
		revoked := seen.token(s.Login(t, "admin", herdtest.BootstrapPassword))
		loggedOut := seen.token(s.Login(t, "admin", herdtest.BootstrapPassword))

		revokedName, _, _ := strings.Cut(revoked, ":")
		code, body = s.Do(t, "DELETE", "/v1/tokens/"+revokedName, admin, nil)
		herdtest.Expect(t, "revoke", code, body, http.StatusNoContent)
		code, body = s.Do(t, "POST", "/v1/logout", loggedOut, nil)
		herdtest.Expect(t, "logout", code, body, http.StatusNoContent)
		time.Sleep(1100 * time.Millisecond)
		for what, tok := range map[string]string{"expired": short, "revoked": revoked, "logged out": loggedOut, "malformed": "nonsense", "wrong secret": name + ":" + strings.Repeat("A", 43)} {
			code, body := s.Do(t, "GET", "/v1/me", tok, nil)
			herdtest.Expect(t, what+" token", code, body, http.StatusUnauthorized)
		}
	})

	t.Run("disabled and deleted users", func(t *testing.T) {
		const pw = "bob-password-1234"
		seen = append(seen, pw)
		createUser(t, s, admin, "bob", pw)
		bob := seen.token(s.Login(t, "bob", pw))
		code, body := s.Do(t, "PATCH", "/v1/users/bob", admin, map[string]any{"enabled": false})
		herdtest.Expect(t, "disable", code, body, 200)
		code, body = s.Do(t, "GET", "/v1/me", bob, nil)
		herdtest.Expect(t, "disabled user's token, at once", code, body, http.StatusUnauthorized)
		code, _ = s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "bob", Password: pw})
		herdtest.Expect(t, "disabled user's login", code, nil, http.StatusUnauthorized)

		code, body = s.Do(t, "PATCH", "/v1/users/bob", admin, map[string]any{"enabled": true})
		herdtest.Expect(t, "enable", code, body, 200)
		bob = seen.token(s.Login(t, "bob", pw))
		code, body = s.Do(t, "GET", "/v1/users", bob, nil)
		herdtest.Expect(t, "a standard user lists users", code, body, http.StatusForbidden)
		code, body = s.Do(t, "POST", "/v1/clusters", bob, herdapi.ClusterCreateRequest{Name: "bobs"})
		herdtest.Expect(t, "a standard user creates a cluster", code, body, http.StatusForbidden)
		code, body = s.Do(t, "DELETE", "/v1/users/bob", admin, nil)
		herdtest.Expect(t, "delete", code, body, http.StatusNoContent)
		code, body = s.Do(t, "GET", "/v1/me", bob, nil)
		herdtest.Expect(t, "deleted user's token, at once", code, body, http.StatusUnauthorized)
	})

	t.Run("lastUsedAt at most once a minute", func(t *testing.T) {
		tok := seen.token(s.Login(t, "admin", herdtest.BootstrapPassword))
		tokName, _, _ := strings.Cut(tok, ":")
		k := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
		s.Do(t, "GET", "/v1/me", tok, nil)
		var first string
		for deadline := time.Now().Add(10 * time.Second); first == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			first = k.Run(t, "get", "tokens.management.herd.dev", tokName, "-o", "jsonpath={.status.lastUsedAt}")
		}
		if first == "" {
			t.Fatal("lastUsedAt was not written within 10 s of a use")
		}
		rv := k.Run(t, "get", "tokens.management.herd.dev", tokName, "-o", "jsonpath={.metadata.resourceVersion}")
		for range 20 {
			s.Do(t, "GET", "/v1/me", tok, nil)
		}
		time.Sleep(time.Second) // several flush periods
		if got := k.Run(t, "get", "tokens.management.herd.dev", tokName, "-o", "jsonpath={.metadata.resourceVersion}"); got != rv {
			t.Errorf("the token was written again within a minute (resourceVersion %s -> %s)", rv, got)
		}
	})

	t.Run("no secret leaks", func(t *testing.T) {
		assertNoLeak(t, s, seen)
	})
}

// TestLoginFailures checks that wrong passwords and unknown users look the
// same and that repeated failures are limited per user and per address.
func TestLoginFailures(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	const pw = "carol-password-1234"
	createUser(t, s, admin, "carol", pw)

	_, wrongPw := s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "carol", Password: "wrong-password-123"})
	code, unknown := s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "nobody", Password: "wrong-password-123"})
	herdtest.Expect(t, "unknown user", code, unknown, http.StatusUnauthorized)
	if string(wrongPw) != string(unknown) {
		t.Errorf("a wrong password and an unknown user answer differently:\n%s\n%s", wrongPw, unknown)
	}
	s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "carol", Password: "wrong-password-456"})
	s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "carol", Password: "wrong-password-789"})
	resp, body := s.DoResponse(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "carol", Password: pw})
	herdtest.Expect(t, "fourth login after three failures", resp.StatusCode, body, http.StatusTooManyRequests)
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 3 {
		t.Fatalf("Retry-After %q: want 1-3 seconds", resp.Header.Get("Retry-After"))
	}
	time.Sleep(time.Duration(wait) * time.Second)
	s.Login(t, "carol", pw)

	// Per address: 12 failures spread over users that never reach their own
	// limit, in a fresh window.
	time.Sleep(3 * time.Second)
	for i := range 12 {
		s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "spray" + strconv.Itoa(i%6), Password: "wrong-password-123"})
	}
	code, body = s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "carol", Password: pw})
	herdtest.Expect(t, "login from an address with 12 failures", code, body, http.StatusTooManyRequests)
	time.Sleep(3 * time.Second) // let the window pass for the tests after this one
}
