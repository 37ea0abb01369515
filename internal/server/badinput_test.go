package server_test

import (
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
)

// TestAPIBadInput sends what a careless or hostile client would and checks
// each gets a clear 4xx and that nothing stored is lost.
func TestAPIBadInput(t *testing.T) {
	s := onMgmt(t, nil)
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	createUser(t, s, admin, "erin", "erin-password-1234")
	huge := `{"username": "` + strings.Repeat("a", herdapi.MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, path, body string
		want                     int
		message                  string
	}{
		{"malformed JSON", "POST", "/v1/users", `{"username": `, 400, "not valid JSON"},
		{"YAML instead of JSON", "POST", "/v1/clusters", "name: x\n", 400, "not valid JSON"},
		{"trailing data", "POST", "/v1/clusters", `{"name": "a"} {"name": "b"}`, 400, "data after"},
		{"a stray brace after the object", "POST", "/v1/clusters", `{"name": "a"}}`, 400, "data after"},
		{"unknown field", "POST", "/v1/clusters", `{"name": "ok-name", "replicas": 3}`, 400, `unknown field "replicas"`},
		{"wrong type", "POST", "/v1/clusters", `{"name": 7}`, 400, `field "name"`},
		{"oversized body", "POST", "/v1/users", huge, 413, "larger than"},
		{"non-DNS cluster name", "POST", "/v1/clusters", `{"name": "Not_A.Label"}`, 422, "cluster name"},
		{"reserved cluster name", "POST", "/v1/clusters", `{"name": "local"}`, 422, "management cluster"},
		{"bad username", "POST", "/v1/users", `{"username": "Erin Smith", "password": "long-enough-password"}`, 422, "lowercase"},
		{"short password", "POST", "/v1/users", `{"username": "frank", "password": "short"}`, 422, "at least 12"},
		{"unknown global role", "POST", "/v1/users", `{"username": "frank", "password": "long-enough-password", "globalRoles": ["root"]}`, 422, "root does not exist"},
		{"duplicate username", "POST", "/v1/users", `{"username": "erin", "password": "another-password-99"}`, 409, "taken"},
		{"disable yourself", "PATCH", "/v1/users/admin", `{"enabled": false}`, 409, "yourself"},
		{"unknown user", "PATCH", "/v1/users/nobody", `{"enabled": false}`, 404, "not found"},
		{"unknown token kind", "POST", "/v1/tokens", `{"kind": "forever"}`, 422, "kind"},
		{"negative ttl", "POST", "/v1/tokens", `{"ttlSeconds": -5}`, 422, "ttlSeconds"},
		{"token for an unknown cluster", "POST", "/v1/tokens", `{"clusterName": "nosuch"}`, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.Do(t, tt.method, tt.path, admin, tt.body)
			status := decodeJSON[metav1.Status](t, body)
			if code != tt.want || !strings.Contains(status.Message, tt.message) || status.Kind != "Status" || int(status.Code) != code {
				t.Errorf("got %d %s, want %d with a Status naming %q", code, body, tt.want, tt.message)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.URL+"/v1/login", strings.NewReader("username=admin"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("got %d, want 415", resp.StatusCode)
		}
	})
	// Nothing stored was lost: erin still logs in with her first password.
	s.Login(t, "erin", "erin-password-1234")
}
