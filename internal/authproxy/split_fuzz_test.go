package authproxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSplit: the proxy path split never panics, and a cluster id it
// accepts is a DNS label; the downstream path it returns is the rest of
// the request's escaped path.
func FuzzSplit(f *testing.F) {
	for _, seed := range []string{
		"/k8s/clusters/east/api/v1/pods", "/k8s/clusters/east", "/k8s/clusters/", "/k8s/clusters/../etc/passwd",
		"/k8s/clusters/%2Fetc/x", "/k8s/clusters/EAST/api", "/k8s/clusters/a%2Fb/api", "/k8s/clusters/east/%2e%2e/secrets",
		"/k8s/clusters/" + strings.Repeat("a", 64) + "/api", "/other", "/k8s/clusters/east//api",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		id, rest, ok := split(&http.Request{URL: u})
		if !ok {
			return
		}
		if !clusterIDPattern.MatchString(id) || len(id) > 63 {
			t.Errorf("accepted cluster id %q from %q", id, path)
		}
		if !strings.HasPrefix(rest, "/") {
			t.Errorf("downstream path %q does not start with /", rest)
		}
		if want := strings.TrimSuffix(Prefix+id+rest, "/"); strings.TrimSuffix(u.EscapedPath(), "/") != want {
			t.Errorf("split %q into %q and %q", u.EscapedPath(), id, rest)
		}
	})
}
