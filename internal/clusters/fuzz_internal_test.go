package clusters

import (
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdapi"
)

// FuzzCheckRegistration: a registration an agent sends is accepted only
// with an https endpoint, a PEM CA and a bearer token without whitespace.
func FuzzCheckRegistration(f *testing.F) {
	dir := f.TempDir()
	if _, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "fuzz-ca"); err != nil {
		f.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		f.Fatal(err)
	}
	ca := string(pem)
	f.Add("https://10.0.0.1:6443", ca, "eyJhbGciOi")
	f.Add("http://10.0.0.1", ca, "t")
	f.Add("https://", "", "")
	f.Add("https://user:pw@h", ca, "a b")
	f.Add("https://h/"+strings.Repeat("x", 3000), ca, strings.Repeat("t", 20000))
	f.Fuzz(func(t *testing.T, endpoint, caPEM, token string) {
		reg := herdapi.AgentRegistration{APIEndpoint: endpoint, CACert: caPEM, Token: token}
		if checkRegistration(&reg) != "" {
			return
		}
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			t.Errorf("accepted endpoint %q", endpoint)
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(caPEM)) {
			t.Errorf("accepted a CA that is not PEM: %q", caPEM)
		}
		if token == "" || len(token) > 16<<10 || strings.ContainsAny(token, " \r\n\t") {
			t.Errorf("accepted token %q", token)
		}
	})
}
