package server_test

import (
	"net/http"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestNodeTokenScope: an agent that asks for it gets the node agents'
// token with its registration; that token opens the fallback tunnel and
// nothing else (no registration, no cluster tunnel), and the agent token
// opens no fallback tunnel.
func TestNodeTokenScope(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	code, body := s.Do(t, "POST", "/v1/clusters", admin, herdapi.ClusterCreateRequest{Name: "scoped"})
	herdtest.Expect(t, "create cluster", code, body, http.StatusCreated)
	created := decodeJSON[herdapi.ClusterCreateResponse](t, body)
	regToken := strings.TrimSuffix(created.Import.URL[strings.Index(created.Import.URL, "/v1/import/")+len("/v1/import/"):], ".yaml")
	reg := herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: testCA(t), Token: "sa-token", NodeToken: true}
	code, body = s.Do(t, "POST", "/v1/agent/register", regToken, reg)
	herdtest.Expect(t, "register asking for a node token", code, body, http.StatusOK)
	resp := decodeJSON[herdapi.AgentRegistrationResponse](t, body)
	if resp.AgentToken == "" || resp.NodeToken == "" || resp.NodeToken == resp.AgentToken {
		t.Fatalf("registration response %+v, want an agent token and another node token", resp)
	}
	reg.NodeToken = false
	if code, body := s.Do(t, "POST", "/v1/agent/register", resp.NodeToken, reg); code != http.StatusUnauthorized {
		t.Errorf("register with the node token: %d %s, want 401", code, body)
	}
	for _, tc := range []struct {
		path, token string
		refused     bool
	}{
		{"/v1/connect", resp.NodeToken, true},
		{"/v1/node/connect", resp.AgentToken, true},
		// Past authorization, the upgrade of this plain request fails.
		{"/v1/node/connect", resp.NodeToken, false},
		{"/v1/connect", resp.AgentToken, false},
	} {
		r, body := s.DoResponse(t, "GET", tc.path, tc.token, nil)
		if (r.StatusCode == http.StatusUnauthorized) != tc.refused {
			t.Errorf("GET %s with the %s: %d %s, want refused %v", tc.path, map[bool]string{true: "node token", false: "agent token"}[tc.token == resp.NodeToken], r.StatusCode, body, tc.refused)
		}
	}
}
