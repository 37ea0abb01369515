package kubeapiauth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func reviewJSON(apiVersion, kind, token string) string {
	b, _ := json.Marshal(&authenticationv1.TokenReview{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		Spec: authenticationv1.TokenReviewSpec{Token: token}})
	return string(b)
}

func TestHandler(t *testing.T) {
	valid, token := newCopy("t-valid", nil)
	h := newHarness(t, true, valid.Secret())
	v1 := func(token string) string { return reviewJSON("authentication.k8s.io/v1", "TokenReview", token) }
	// Larger than MaxBodyBytes, but valid JSON with a valid token.
	huge := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","metadata":{"name":"` +
		strings.Repeat("x", MaxBodyBytes) + `"},"spec":{"token":"` + token + `"}}`
	tests := []struct {
		name, method, path string
		body               io.Reader
		wantCode           int
		wantAuthenticated  bool
	}{
		{"valid", "POST", "/authenticate", strings.NewReader(v1(token)), 200, true},
		{"valid at /", "POST", "/", strings.NewReader(v1(token)), 200, true},
		{"refused", "POST", "/authenticate", strings.NewReader(v1("t-valid:nope")), 200, false},
		{"v1beta1", "POST", "/authenticate", strings.NewReader(reviewJSON("authentication.k8s.io/v1beta1", "TokenReview", token)), 400, false},
		{"wrong kind", "POST", "/authenticate", strings.NewReader(reviewJSON("authentication.k8s.io/v1", "TokenRequest", token)), 400, false},
		{"not JSON", "POST", "/authenticate", strings.NewReader("token=" + token), 400, false},
		{"empty body", "POST", "/authenticate", strings.NewReader(""), 400, false},
		{"too large", "POST", "/authenticate", strings.NewReader(huge), 413, false},
		{"too large, chunked", "POST", "/authenticate", io.MultiReader(strings.NewReader(huge)), 413, false},
		{"GET review", "GET", "/authenticate", nil, 405, false},
		{"other path", "POST", "/apis/authentication.k8s.io/v1/tokenreviews", strings.NewReader(v1(token)), 404, false},
		{"healthz", "GET", "/healthz", nil, 200, false},
	}
	handler := h.Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, tt.body))
			if rec.Code != tt.wantCode {
				t.Fatalf("%s %s: got %d, want %d: %s", tt.method, tt.path, rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantCode != 200 || tt.path == "/healthz" {
				return
			}
			var out authenticationv1.TokenReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if out.Status.Authenticated != tt.wantAuthenticated {
				t.Errorf("authenticated: got %v, want %v", out.Status.Authenticated, tt.wantAuthenticated)
			}
			if out.APIVersion != "authentication.k8s.io/v1" || out.Kind != "TokenReview" || out.Spec.Token != "" {
				t.Errorf("response: got %s %s with token %q, want a v1 TokenReview without the token", out.APIVersion, out.Kind, out.Spec.Token)
			}
		})
	}
}

func TestHandlerNotSynced(t *testing.T) {
	valid, token := newCopy("t-valid", nil)
	s, err := New(Config{Kube: fake.NewClientset(valid.Secret()), Cluster: testCluster})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
	}{
		{"review", "POST", "/authenticate", reviewJSON("authentication.k8s.io/v1", "TokenReview", token)},
		{"healthz", "GET", "/healthz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), `"authenticated":true`) {
				t.Errorf("%s %s: got %d %s, want 503", tt.method, tt.path, rec.Code, rec.Body)
			}
		})
	}
}
