package authproxy

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// dnsLabel is what isDNSLabel checks, as a regular expression.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

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
		for _, s := range append(strings.Split(path, "/"), path) {
			if isDNSLabel(s) != dnsLabel.MatchString(s) {
				t.Errorf("isDNSLabel(%q) = %v, the regular expression says otherwise", s, isDNSLabel(s))
			}
		}
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		id, rest, ok := split(&http.Request{URL: u})
		if !ok {
			return
		}
		if !dnsLabel.MatchString(id) {
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
