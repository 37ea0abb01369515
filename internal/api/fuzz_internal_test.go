package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

// FuzzDecode: every API request body is decoded by readJSON; whatever a
// client sends, it never panics and either decodes one JSON object or
// answers 400, 413 or 415.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"username": "admin", "password": "x"}`, `{"name": "c1", "displayName": "C"}`, `{"kind": "kubeconfig", "ttlSeconds": -1}`,
		`{`, `[]`, `null`, `{"username": 7}`, `{"a": 1}`, `{} {}`, "\xff\xfe", `{"clusterName": "` + strings.Repeat("a", 100) + `"}`,
		`{"enabled": true, "settings": {"a": "b"}, "secrets": {"c": ""}}`, `{"projectName": "p", "roleTemplate": "r", "username": "u"}`,
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Add(`{}`, "application/json; charset=utf-8")
	f.Add(`{}`, ";;;")
	targets := []func() any{
		func() any { return &herdapi.LoginRequest{} }, func() any { return &herdapi.UserCreateRequest{} },
		func() any { return &herdapi.TokenCreateRequest{} }, func() any { return &herdapi.ClusterCreateRequest{} },
		func() any { return &herdapi.MemberRequest{} }, func() any { return &herdapi.ProviderUpdate{} },
		func() any { return &herdapi.AgentRegistration{} }, func() any { return &herdapi.RedirectLoginRequest{} },
	}
	f.Fuzz(func(t *testing.T, body, contentType string) {
		for _, target := range targets {
			r := httptest.NewRequest("POST", "/v1/x", strings.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			code, _, message, _ := readJSON(httptest.NewRecorder(), r, target())
			switch code {
			case 0:
				if !json.Valid(bytes.TrimSpace([]byte(body))) {
					t.Errorf("decoded a body that is not JSON: %q", body)
				}
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
				if message == "" || (len(body) > 8 && strings.Contains(message, body)) {
					t.Errorf("refusal %d with message %q for %q", code, message, body)
				}
			default:
				t.Errorf("got status %d for %q", code, body)
			}
		}
	})
}
