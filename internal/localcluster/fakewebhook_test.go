package localcluster_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"

	"herd.dev/herd/internal/localcluster"
)

// serveWebhook answers TokenReviews on c's webhook address until the test
// ends, as kube-api-auth would, with the user that check returns.
func serveWebhook(t *testing.T, c *localcluster.Cluster, check func(token string) (string, bool)) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(c.AuthWebhookCertFile(), c.AuthWebhookKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", c.AuthWebhookListen())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /authenticate", func(w http.ResponseWriter, r *http.Request) {
		var review authenticationv1.TokenReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		user, ok := check(review.Spec.Token)
		review.Status = authenticationv1.TokenReviewStatus{Authenticated: ok}
		if ok {
			review.Status.User = authenticationv1.UserInfo{Username: user}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
}

// whoAmI sends a SelfSubjectReview with token; it returns the status and
// the user name the kube-apiserver saw.
func whoAmI(t *testing.T, c *localcluster.Cluster, token string) (int, string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, c.CACertPath()))
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	req, err := http.NewRequest(http.MethodPost, c.ServerURL()+"/apis/authentication.k8s.io/v1/selfsubjectreviews", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	defer resp.Body.Close()
	var review authenticationv1.SelfSubjectReview
	_ = json.NewDecoder(resp.Body).Decode(&review)
	return resp.StatusCode, review.Status.UserInfo.Username
}
