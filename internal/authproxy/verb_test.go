package authproxy

import (
	"net/http/httptest"
	"testing"
)

func TestKubeVerb(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/api/v1/namespaces/default/pods", "list"},
		{"GET", "/api/v1/namespaces/default/pods?watch=true", "watch"},
		{"GET", "/api/v1/namespaces/default/pods/web", "get"},
		{"GET", "/api/v1/namespaces/default", "get"},
		{"GET", "/api/v1/namespaces", "list"},
		{"GET", "/apis/apps/v1/deployments", "list"},
		{"POST", "/apis/apps/v1/namespaces/default/deployments", "create"},
		{"PATCH", "/apis/apps/v1/namespaces/default/deployments/web", "patch"},
		{"PUT", "/api/v1/nodes/n1", "update"},
		{"DELETE", "/api/v1/namespaces/default/pods/web", "delete"},
		{"DELETE", "/api/v1/namespaces/default/pods", "deletecollection"},
		{"POST", "/api/v1/namespaces/default/pods/web/exec", "create"},
		{"GET", "/version", "get"},
		{"GET", "/api", "get"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "https://herd"+tt.path, nil)
		path := r.URL.Path
		if got := kubeVerb(r, path); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
