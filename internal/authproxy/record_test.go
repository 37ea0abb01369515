package authproxy

import (
	"net/http/httptest"
	"slices"
	"testing"
)

func TestRecordable(t *testing.T) {
	for _, c := range []struct {
		target, upgrade string
		want            bool
		kind, ns, pod   string
		command         []string
	}{
		{"/api/v1/namespaces/shop/pods/web-1/exec?command=sh&command=-c&command=ls&stdin=true&tty=true&container=app", "websocket", true, "exec", "shop", "web-1", []string{"sh", "-c", "ls"}},
		{"/api/v1/namespaces/shop/pods/web-1/exec?command=ls&stdout=true", "SPDY/3.1", false, "", "", "", nil},
		{"/api/v1/namespaces/shop/pods/web-1/exec?command=cat&stdin=1", "SPDY/3.1", true, "exec", "shop", "web-1", []string{"cat"}},
		{"/api/v1/namespaces/shop/pods/web-1/attach?stdin=true&tty=true", "websocket", true, "attach", "shop", "web-1", nil},
		{"/api/v1/namespaces/shop/pods/web-1/portforward?ports=80", "websocket", false, "", "", "", nil},
		{"/api/v1/namespaces/shop/pods/web-1/exec?stdin=true", "", false, "", "", "", nil},
		{"/api/v1/namespaces/shop/pods/web%2D1/exec?tty=TRUE", "websocket", true, "exec", "shop", "web-1", nil},
	} {
		r := httptest.NewRequest("GET", "https://herd"+Prefix+"east"+c.target, nil)
		if c.upgrade != "" {
			r.Header.Set("Upgrade", c.upgrade)
		}
		_, path, _ := split(r)
		s, ok := recordable(r, "east", path)
		if ok != c.want {
			t.Errorf("%s: recordable %v, want %v", c.target, ok, c.want)
			continue
		}
		if ok && (s.Kind != c.kind || s.Namespace != c.ns || s.Pod != c.pod || !slices.Equal(s.Command, c.command) || s.Cluster != "east") {
			t.Errorf("%s: %+v", c.target, s)
		}
	}
}
