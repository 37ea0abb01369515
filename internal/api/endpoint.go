package api

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// checkEndpoint says what is wrong with an authorized endpoint, or "".
func checkEndpoint(e herdapi.AuthorizedEndpoint) string {
	if !e.Enabled && (e.FQDN != "" || e.CACerts != "") {
		return "an FQDN or CA goes with --enable"
	}
	if e.FQDN != "" {
		if msg := checkHostPort("fqdn", e.FQDN); msg != "" {
			return msg
		}
	}
	if e.CACerts != "" {
		if e.FQDN == "" {
			return "a CA goes with an FQDN: without one, the direct context uses the cluster's own CA"
		}
		if len(e.CACerts) > 64<<10 || !parsesAsCerts([]byte(e.CACerts)) {
			return "caCerts must be PEM certificates (at most 64 KiB)"
		}
	}
	return ""
}

// checkHostPort says what is wrong with value as HOST[:PORT] ("" if
// nothing).
func checkHostPort(what, value string) string {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		host, port = value, "443"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return what + " " + value + ": the port must be 1-65535"
	}
	if net.ParseIP(host) == nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
		return what + " " + value + " must be HOST[:PORT] with a DNS name or an IP address"
	}
	return ""
}

func parsesAsCerts(data []byte) bool {
	found := false
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return found
		}
		if b.Type != "CERTIFICATE" {
			return false
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return false
		}
		found = true
	}
}

// handleSetEndpoint turns a cluster's authorized endpoint on (with an
// optional FQDN and CA of a load balancer in front of its control planes)
// or off; its administrators may.
func (a clustersAPI) handleSetEndpoint(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.AuthorizedEndpoint
	if !a.decode(w, r, &req) {
		return
	}
	c, ok := a.adminCluster(w, r, id, "change the authorized endpoint")
	if !ok {
		return
	}
	if msg := checkEndpoint(req); msg != "" {
		a.invalid(w, r, msg)
		return
	}
	c, _, err := a.updateSpec(r.Context(), c.Name, func(cur *v1.Cluster) string {
		cur.Spec.AuthorizedEndpoint = &v1.AuthorizedEndpoint{Enabled: req.Enabled, FQDN: req.FQDN, CACerts: req.CACerts}
		return ""
	})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), c, false)
	a.audit.Info("authorized endpoint set", "actor", id.UserName, "cluster", c.Name, "enabled", req.Enabled, "fqdn", req.FQDN, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, apiCluster(c))
}
