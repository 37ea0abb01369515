package server_test

import (
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// assertNoLeak fails if any of seen appears in the server's log, in any
// object of the management cluster, or in error answers to requests that
// carry them.
func assertNoLeak(t *testing.T, s *herdtest.Server, seen secrets) {
	t.Helper()
	k := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	kinds := strings.Fields(strings.ReplaceAll(k.Run(t, "api-resources", "--verbs=list", "-o", "name"), "\n", " "))
	objects := k.Run(t, "get", strings.Join(kinds, ","), "-A", "-o", "json")
	if !strings.Contains(objects, `"kind": "Token"`) || !strings.Contains(objects, `"kind": "Secret"`) {
		t.Fatal("the object dump has no Tokens or Secrets; the check would prove nothing")
	}
	// Error answers to requests that carry each secret.
	var errors strings.Builder
	for _, secret := range seen {
		_, body := s.Do(t, "POST", "/v1/login", "", herdapi.LoginRequest{Username: "admin", Password: secret + "x"})
		errors.Write(body)
		_, body = s.Do(t, "GET", "/v1/me", "t-nosuchtoken:"+secret, nil)
		errors.Write(body)
		_, body = s.Do(t, "GET", "/v1/import/t-x:"+secret+".yaml", "", nil)
		errors.Write(body)
		_, body = s.Do(t, "POST", "/v1/users", "t-x:"+secret, `{"username": "`+secret+`", "password": "`+secret+`"`)
		errors.Write(body)
	}
	logs := s.Logs.String()
	if len(seen) < 3 || logs == "" {
		t.Fatalf("nothing to check: %d secrets, %d bytes of log", len(seen), len(logs))
	}
	for _, secret := range seen {
		for where, text := range map[string]string{"the server log": logs, "the management cluster's objects": objects, "an error answer": errors.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret (%.4s...) appears in %s", secret, where)
			}
		}
	}
}
