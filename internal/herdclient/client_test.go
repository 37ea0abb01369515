package herdclient

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"herd.dev/herd/internal/herdapi"
)

// request is what the test server saw.
type request struct {
	Method, Path, Auth, ContentType string
	Body                            string
}

// testServer answers every request with status and body and records it.
type testServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	status   int
	body     string
	header   http.Header
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{status: http.StatusOK, header: http.Header{}}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == CACertsPath {
			_, _ = w.Write(caPEM(ts.Server))
			return
		}
		body, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.requests = append(ts.requests, request{
			Method: r.Method, Path: r.URL.RequestURI(), Auth: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Body: string(body),
		})
		status, respBody := ts.status, ts.body
		for k, v := range ts.header {
			w.Header()[k] = v
		}
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, respBody)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) answer(status int, body string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.status, ts.body = status, body
}

func (ts *testServer) last(t *testing.T) request {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.requests) == 0 {
		t.Fatal("the server got no request")
	}
	return ts.requests[len(ts.requests)-1]
}

// caPEM is the PEM of an httptest server's self-signed certificate, which
// serves as its CA.
func caPEM(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

func newTestClient(t *testing.T, ts *testServer, token string) *Client {
	t.Helper()
	c, err := New(Config{Server: ts.URL, Token: token, CACert: caPEM(ts.Server), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	yes := true
	user := herdapi.User{Name: "u-abc", Username: "alice", Enabled: true, CreatedAt: created}
	cluster := herdapi.Cluster{Name: "c1", Connected: "True", Ready: "True", CreatedAt: created}
	token := herdapi.TokenResponse{Token: "secret", Info: herdapi.TokenInfo{Name: "t-1", Kind: "session", CreatedAt: created}}
	importInfo := herdapi.ImportInfo{URL: "https://h/v1/import/x.yaml", Command: "kubectl apply -f https://h/v1/import/x.yaml", ExpiresAt: created}
	testEndpoints(t, []endpointTest{
		{"login", func(c *Client) (any, error) {
			return c.Login(ctx, herdapi.LoginRequest{Username: "alice", Password: "pw"})
		}, 201, token, "POST", "/v1/login", `{"username":"alice","password":"pw"}`, ""},
		{"logout", func(c *Client) (any, error) { return nil, c.Logout(ctx) },
			204, nil, "POST", "/v1/logout", "", "Bearer tok"},
		{"me", func(c *Client) (any, error) { return c.Me(ctx) },
			200, user, "GET", "/v1/me", "", "Bearer tok"},
		{"list users", func(c *Client) (any, error) { return c.ListUsers(ctx) },
			200, herdapi.UserList{Items: []herdapi.User{user}}, "GET", "/v1/users", "", "Bearer tok"},
		{"create user", func(c *Client) (any, error) {
			return c.CreateUser(ctx, herdapi.UserCreateRequest{Username: "alice", Password: "pw", GlobalRoles: []string{"admin"}})
		}, 201, user, "POST", "/v1/users", `{"username":"alice","password":"pw","globalRoles":["admin"]}`, "Bearer tok"},
		{"get user escapes", func(c *Client) (any, error) { return c.GetUser(ctx, "a/b c") },
			200, user, "GET", "/v1/users/a%2Fb%20c", "", "Bearer tok"},
		{"update user", func(c *Client) (any, error) {
			return c.UpdateUser(ctx, "alice", herdapi.UserUpdateRequest{Enabled: &yes})
		}, 200, user, "PATCH", "/v1/users/alice", `{"enabled":true}`, "Bearer tok"},
		{"delete user", func(c *Client) (any, error) { return nil, c.DeleteUser(ctx, "alice") },
			204, nil, "DELETE", "/v1/users/alice", "", "Bearer tok"},
		{"set password", func(c *Client) (any, error) {
			return nil, c.SetPassword(ctx, "alice", herdapi.PasswordRequest{CurrentPassword: "old", Password: "new"})
		}, 204, nil, "PUT", "/v1/users/alice/password", `{"currentPassword":"old","password":"new"}`, "Bearer tok"},
		{"list own tokens", func(c *Client) (any, error) { return c.ListTokens(ctx, false) },
			200, herdapi.TokenList{Items: []herdapi.TokenInfo{token.Info}}, "GET", "/v1/tokens", "", "Bearer tok"},
		{"list all tokens", func(c *Client) (any, error) { return c.ListTokens(ctx, true) },
			200, herdapi.TokenList{Items: []herdapi.TokenInfo{token.Info}}, "GET", "/v1/tokens?all=true", "", "Bearer tok"},
		{"create token", func(c *Client) (any, error) {
			return c.CreateToken(ctx, herdapi.TokenCreateRequest{Kind: "kubeconfig", TTLSeconds: 60, ClusterName: "c1"})
		}, 201, token, "POST", "/v1/tokens", `{"kind":"kubeconfig","ttlSeconds":60,"clusterName":"c1"}`, "Bearer tok"},
		{"revoke token", func(c *Client) (any, error) { return nil, c.RevokeToken(ctx, "t-1") },
			204, nil, "DELETE", "/v1/tokens/t-1", "", "Bearer tok"},
		{"list clusters", func(c *Client) (any, error) { return c.ListClusters(ctx) },
			200, herdapi.ClusterList{Items: []herdapi.Cluster{cluster}}, "GET", "/v1/clusters", "", "Bearer tok"},
		{"create cluster", func(c *Client) (any, error) {
			return c.CreateCluster(ctx, herdapi.ClusterCreateRequest{Name: "c1", DisplayName: "One"})
		}, 201, herdapi.ClusterCreateResponse{Cluster: cluster, Import: importInfo}, "POST", "/v1/clusters", `{"name":"c1","displayName":"One"}`, "Bearer tok"},
		{"get cluster", func(c *Client) (any, error) { return c.GetCluster(ctx, "c1") },
			200, cluster, "GET", "/v1/clusters/c1", "", "Bearer tok"},
		{"delete cluster", func(c *Client) (any, error) { _, err := c.DeleteCluster(ctx, "c1", false); return nil, err },
			204, nil, "DELETE", "/v1/clusters/c1", "", "Bearer tok"},
		{"import cluster", func(c *Client) (any, error) {
			return c.ImportCluster(ctx, "c1", herdapi.ImportRequest{GracePeriodSeconds: -1})
		}, 201, importInfo, "POST", "/v1/clusters/c1/import", `{"gracePeriodSeconds":-1}`, "Bearer tok"},
	})
}

// endpointTest is one call of a client method: what the server answers
// and what request the method must send.
type endpointTest struct {
	name       string
	call       func(c *Client) (any, error)
	status     int
	answer     any // JSON body; nil for none
	wantMethod string
	wantPath   string
	wantBody   string // JSON, "" for none
	wantAuth   string
}

// testEndpoints runs each call against one test server, with token tok.
func testEndpoints(t *testing.T, tests []endpointTest) {
	t.Helper()
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.answer != nil {
				data, _ := json.Marshal(tt.answer)
				body = string(data)
			}
			ts.answer(tt.status, body)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			req := ts.last(t)
			if req.Method != tt.wantMethod || req.Path != tt.wantPath {
				t.Errorf("request: got %s %s, want %s %s", req.Method, req.Path, tt.wantMethod, tt.wantPath)
			}
			if req.Auth != tt.wantAuth {
				t.Errorf("Authorization: got %q, want %q", req.Auth, tt.wantAuth)
			}
			if req.Body != tt.wantBody {
				t.Errorf("body: got %s, want %s", req.Body, tt.wantBody)
			}
			if tt.wantBody != "" && req.ContentType != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", req.ContentType)
			}
			if tt.answer != nil {
				gotValue := reflect.ValueOf(got).Elem().Interface()
				if !reflect.DeepEqual(gotValue, tt.answer) {
					t.Errorf("result: got %+v, want %+v", gotValue, tt.answer)
				}
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	for _, name := range []string{"", ".", ".."} {
		if _, err := c.GetCluster(context.Background(), name); err == nil || !strings.Contains(err.Error(), "invalid cluster name") {
			t.Errorf("GetCluster(%q): got %v, want invalid cluster name", name, err)
		}
	}
	if len(ts.requests) != 0 {
		t.Errorf("got %d requests, want none", len(ts.requests))
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string // Retry-After
		body   string
		want   APIError
	}{
		{"status", 404, "", `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"cluster not found","reason":"NotFound","code":404}`,
			APIError{Code: 404, Message: "cluster not found", Reason: "NotFound"}},
		{"retry after header", 429, "30", `{"kind":"Status","status":"Failure","message":"too many failed logins","reason":"TooManyRequests","code":429}`,
			APIError{Code: 429, Message: "too many failed logins", Reason: "TooManyRequests", RetryAfter: 30 * time.Second}},
		{"retry after in details", 429, "", `{"kind":"Status","message":"slow down","reason":"TooManyRequests","details":{"retryAfterSeconds":7},"code":429}`,
			APIError{Code: 429, Message: "slow down", Reason: "TooManyRequests", RetryAfter: 7 * time.Second}},
		{"not a status", 502, "", "<html>bad gateway</html>", APIError{Code: 502, Message: "<html>bad gateway</html>"}},
		{"empty", 500, "", "", APIError{Code: 500}},
	}
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.mu.Lock()
			ts.header = http.Header{}
			if tt.header != "" {
				ts.header.Set("Retry-After", tt.header)
			}
			ts.mu.Unlock()
			ts.answer(tt.status, tt.body)
			_, err := c.ListClusters(context.Background())
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("got %v (%T), want *APIError", err, err)
			}
			if *apiErr != tt.want {
				t.Errorf("got %+v, want %+v", *apiErr, tt.want)
			}
			if code := fmt.Sprint(tt.status); !strings.Contains(err.Error(), code) {
				t.Errorf("message %q does not name the status %s", err, code)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, ok := retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now)
	if !ok || got != 90*time.Second {
		t.Errorf("got %s %v, want 1m30s true", got, ok)
	}
	if _, ok := retryAfter("soon", now); ok {
		t.Error("got ok for a bad header, want not ok")
	}
}

func TestResponseLimit(t *testing.T) {
	ts := newTestServer(t)
	c := newTestClient(t, ts, "tok")
	ts.answer(200, `{"items":[`+strings.Repeat(" ", MaxResponseBytes)+`]}`)
	if _, err := c.ListClusters(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want an error about the size", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" for none
	}{
		{"ok", Config{Server: "https://herd.example.com:8443/"}, ""},
		{"no server", Config{}, "not a URL"},
		{"http", Config{Server: "http://herd.example.com"}, "must use https"},
		{"query", Config{Server: "https://h?x=1"}, "query"},
		{"insecure and pin", Config{Server: "https://h", Insecure: true, CAChecksum: "ab"}, "exclusive"},
		{"http client and pin", Config{Server: "https://h", HTTPClient: http.DefaultClient, CAChecksum: "ab"}, "exclusive"},
		{"bad pem", Config{Server: "https://h", CACert: []byte("nope")}, "no PEM"},
		{"negative timeout", Config{Server: "https://h", Timeout: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want error containing %q", err, tt.want)
			}
		})
	}
}
