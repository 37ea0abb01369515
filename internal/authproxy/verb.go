package authproxy

import (
	"net/http"
	"strings"
)

// kubeVerb is the Kubernetes verb of a request to a kube-apiserver path,
// for the audit log: get, list, watch, create, update, patch, delete,
// deletecollection, or the lower-case HTTP method for anything else
// (discovery, non-resource paths).
func kubeVerb(r *http.Request, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] or /apis/G/V/...
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	default:
		return strings.ToLower(r.Method)
	}
	if len(rest) >= 2 && rest[0] == "namespaces" && len(rest) != 2 {
		rest = rest[2:]
	}
	named := len(rest) >= 2
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			return "watch"
		case named:
			return "get"
		case len(rest) == 1:
			return "list"
		}
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named {
			return "delete"
		}
		return "deletecollection"
	}
	return strings.ToLower(r.Method)
}
