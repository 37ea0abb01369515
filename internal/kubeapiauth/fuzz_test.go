package kubeapiauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// FuzzServeReview: whatever body the apiserver (or anyone on loopback)
// posts, the webhook never panics, answers 200, 400 or 413, and grants
// nothing but the one valid token.
func FuzzServeReview(f *testing.F) {
	valid, validToken := newCopy("t-valid", nil)
	review := func(token string) string {
		b, _ := json.Marshal(newReview(token))
		return string(b)
	}
	for _, seed := range []string{
		review(validToken), review("t-valid:" + strings.Repeat("A", 43)), review(""), `{}`, `[]`, `null`, `{"kind": "TokenReview"}`,
		`{"apiVersion": "authentication.k8s.io/v1beta1", "kind": "TokenReview", "spec": {"token": "x"}}`,
		`{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": 7}}`, "\x00\xff", strings.Repeat("{", 1000),
	} {
		f.Add(seed)
	}
	h := newHarness(f, true, valid.Secret())
	handler := h.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest("POST", "/authenticate", strings.NewReader(body)))
		switch w.Code {
		case http.StatusOK:
			var out authenticationv1.TokenReview
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("200 with %q: %v", w.Body.String(), err)
			}
			if out.Status.Authenticated && !strings.Contains(body, strings.SplitN(validToken, ":", 2)[1]) {
				t.Errorf("granted %+v for %q", out.Status.User, body)
			}
			if strings.Contains(w.Body.String(), strings.SplitN(validToken, ":", 2)[1]) {
				t.Error("the answer echoes the token")
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("got %d for %q", w.Code, body)
		}
	})
}
