package server_test

import (
	"net/http"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestRegistrationRateLimit: a source whose machine and agent
// registrations keep failing is refused with 429 and a Retry-After after
// 20 failures in a minute, whatever token it tries next; a good
// registration does not count.
func TestRegistrationRateLimit(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "limited", KubernetesVersion: "v1.37.2"})
	herdtest.Expect(t, "create cluster", code, body, http.StatusCreated)
	created := decodeJSON[herdapi.ClusterCreateResponse](t, body)
	good := strings.TrimSuffix(created.Import.URL[strings.Index(created.Import.URL, "/v1/import/")+len("/v1/import/"):], ".yaml")
	machine := func(host string) herdapi.NodeRegistration {
		return herdapi.NodeRegistration{Hostname: host, Address: "127.0.8.1", Roles: []string{"worker"}}
	}
	code, body = s.Do(t, "POST", "/v1/node/register", good, machine("limited-1"))
	herdtest.Expect(t, "a good registration", code, body, http.StatusCreated)
	for i := range 20 {
		path, req := "/v1/node/register", any(machine("x"))
		if i%2 == 1 {
			path, req = "/v1/agent/register", herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: testCA(t), Token: "sa"}
		}
		code, body = s.Do(t, "POST", path, "crt-nosuchtoken:abcdefghijklmnopqrstuvwxyz012345", req)
		if code != http.StatusUnauthorized {
			t.Fatalf("bad registration %d: %d %s, want 401", i, code, body)
		}
	}
	resp, body := s.DoResponse(t, "POST", "/v1/node/register", good, machine("limited-2"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many failed registrations") {
		t.Errorf("after 20 failures: %d (Retry-After %q) %s, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
