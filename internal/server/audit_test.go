package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/auditlog"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestAuditBodies: at level 3 the proxy's audit lines, written as JSON
// lines to --audit-log-path, hold request and response bodies with the
// values of a Secret redacted; watches keep metadata only.
func TestAuditBodies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	level := auditlog.ResponseBody
	s := onMgmt(t, func(c *server.Config) { c.AuditLevel, c.AuditLogPath = &level, path })
	admin := s.Login(t, "admin", herdtest.BootstrapPassword)
	send := func(method, p, body string) int {
		t.Helper()
		var b any
		if body != "" {
			b = body
		}
		code, _ := s.Do(t, method, "/k8s/clusters/local"+p, admin, b)
		return code
	}
	secrets := "/api/v1/namespaces/default/secrets"
	send("DELETE", secrets+"/audit-test", "")
	t.Cleanup(func() { send("DELETE", secrets+"/audit-test", "") })
	if code := send("POST", secrets,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"audit-test"},"stringData":{"password":"hunter2-in-audit"}}`); code != http.StatusCreated {
		t.Fatalf("create the Secret: %d", code)
	}
	if code := send("GET", secrets+"/audit-test", ""); code != http.StatusOK {
		t.Fatalf("get the Secret: %d", code)
	}
	if code := send("GET", "/api/v1/namespaces/default", ""); code != http.StatusOK {
		t.Fatalf("get the namespace: %d", code)
	}
	send("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1", "")

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("the audit log has mode %v, want 0600", st.Mode().Perm())
	}
	if strings.Contains(string(data), "hunter2-in-audit") || strings.Contains(string(data), "aHVudGVyMi1pbi1hdWRpdA") {
		t.Fatalf("the audit log holds the Secret's value:\n%s", data)
	}
	lines := map[string]map[string]any{} // by method and path
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		if line["msg"] == "proxied" {
			path, _ := line["path"].(string)
			lines[line["method"].(string)+" "+strings.TrimPrefix(path, "/k8s/clusters/local")] = line
		}
	}
	body := func(key, field string) string {
		b, _ := json.Marshal(lines[key][field])
		return string(b)
	}
	create := "POST " + secrets
	if got := body(create, "requestBody"); !strings.Contains(got, `"password":"[redacted]"`) {
		t.Errorf("the create's request body logged as %s", got)
	}
	if got := body(create, "responseBody"); !strings.Contains(got, `"name":"audit-test"`) || !strings.Contains(got, `[redacted]`) {
		t.Errorf("the create's response body logged as %s", got)
	}
	if got := body("GET "+secrets+"/audit-test", "responseBody"); !strings.Contains(got, `"password":"[redacted]"`) {
		t.Errorf("the Secret's GET logged as %s", got)
	}
	if got := body("GET /api/v1/namespaces/default", "responseBody"); !strings.Contains(got, `"name":"default"`) {
		t.Errorf("the namespace's GET logged as %s", got)
	}
	watch, ok := lines["GET /api/v1/namespaces/default/configmaps"]
	if !ok {
		t.Fatalf("no audit line of the watch: %v", lines)
	}
	if watch["verb"] != "watch" || watch["responseBody"] != nil {
		t.Errorf("the watch's audit line: %v", watch)
	}
	if lines[create]["user"] == "" || lines[create]["status"] != float64(http.StatusCreated) {
		t.Errorf("the create's metadata: %v", lines[create])
	}
}
