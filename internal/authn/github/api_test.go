package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNextLink(t *testing.T) {
	for header, want := range map[string]string{
		"": "",
		`<https://api.github.com/user/orgs?page=2>; rel="next", <https://api.github.com/user/orgs?page=5>; rel="last"`: "https://api.github.com/user/orgs?page=2",
		`<https://api.github.com/user/orgs?page=1>; rel="prev", <https://api.github.com/user/orgs?page=3>; rel="next"`: "https://api.github.com/user/orgs?page=3",
		`<https://api.github.com/user/orgs?page=1>; rel="first"`:                                                       "",
	} {
		if got := nextLink(header); got != want {
			t.Errorf("nextLink(%q): got %q, want %q", header, got, want)
		}
	}
}

// TestLinkOffHost checks the token is never sent to a Link header's URL
// outside the API URL.
func TestLinkOffHost(t *testing.T) {
	var leaked bool
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = leaked || r.Header.Get("Authorization") != ""
		w.Write([]byte("[]"))
	}))
	defer evil.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "<"+evil.URL+"/api/v3/user/orgs?page=2>; rel=\"next\"")
		w.Write([]byte(`[{"id":1,"login":"acme"}]`))
	}))
	defer api.Close()
	p, err := New(Config{BaseURL: api.URL, ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = listAll[org](context.Background(), p, "TOKEN", "/user/orgs")
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("got %v, want a refusal", err)
	}
	if leaked {
		t.Error("the token went to another host")
	}
}

func TestLargeResponse(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"login":"` + strings.Repeat("x", maxResponseBytes) + `"}`))
	}))
	defer api.Close()
	p, err := New(Config{BaseURL: api.URL, ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.user(context.Background(), "TOKEN"); err == nil || !strings.Contains(err.Error(), "over 1 MiB") {
		t.Errorf("got %v, want a response too large", err)
	}
}
