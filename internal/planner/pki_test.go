package planner

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// TestPKIFollowsControlPlanes: the API server's certificate names every
// control-plane address, is issued again when one comes, and stays the
// same while none does.
func TestPKIFollowsControlPlanes(t *testing.T) {
	pki := map[string][]byte{}
	for _, step := range []struct {
		ips     []string
		changed bool
	}{
		{[]string{"127.0.9.1"}, true},
		{[]string{"127.0.9.1"}, false},
		{[]string{"127.0.9.2", "127.0.9.1"}, true},
		{[]string{"127.0.9.1", "127.0.9.2"}, false},
		{[]string{"127.0.9.1", "127.0.9.2"}, false},
	} {
		before := string(pki[fileAPIServer])
		changed, err := ensurePKI(pki, step.ips)
		if err != nil {
			t.Fatal(err)
		}
		if changed != step.changed || (string(pki[fileAPIServer]) != before) != step.changed {
			t.Fatalf("ips %v: changed %v (certificate changed %v), want %v", step.ips, changed, string(pki[fileAPIServer]) != before, step.changed)
		}
		block, _ := pem.Decode(pki[fileAPIServer])
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range step.ips {
			found := false
			for _, have := range cert.IPAddresses {
				found = found || have.String() == ip
			}
			if !found {
				t.Errorf("the certificate does not name %s: %v", ip, cert.IPAddresses)
			}
		}
	}
}
