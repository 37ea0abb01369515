package herdtest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"herd.dev/herd/internal/authn/saml"
	"herd.dev/herd/internal/herdtest"
)

// TestSimpleSAMLphp: the harness's IdP logs a user in for Herd's SAML
// provider, which accepts the signed answer once.
func TestSimpleSAMLphp(t *testing.T) {
	const acs = "https://herd.example.test" + saml.CallbackPath
	idp := herdtest.StartSimpleSAMLphp(t, "https://herd.example.test"+saml.MetadataPath, acs,
		herdtest.SAMLUser{Username: "alice", Password: "alice-pw", DisplayName: "Alice Liddell", Groups: []string{"devs", "ops"}})
	p, err := saml.New(context.Background(), saml.Config{IDPMetadataURL: idp.MetadataURL, UIDAttribute: "uid"})
	if err != nil {
		t.Fatal(err)
	}
	action, form := idp.Login(t, p.AuthCodeURL("state-1", "verifier-1", acs), "alice", "alice-pw")
	if action != acs || form.Get("RelayState") != "state-1" {
		t.Fatalf("the IdP posts to %s with RelayState %q", action, form.Get("RelayState"))
	}
	id, err := p.Exchange(context.Background(), form.Get("SAMLResponse"), "verifier-1", acs)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserPrincipal != "saml_user://"+idp.EntityID+"/alice" || id.Username != "alice" || id.DisplayName != "Alice Liddell" ||
		strings.Join(id.Groups, ",") != "saml_group://"+idp.EntityID+"/devs,saml_group://"+idp.EntityID+"/ops" {
		t.Errorf("identity %+v", id)
	}
}

// TestSimpleSAMLphpSignedRequests: an IdP that takes only signed
// AuthnRequests accepts Herd's when Herd has an SP key, and refuses them
// unsigned.
func TestSimpleSAMLphpSignedRequests(t *testing.T) {
	const acs = "https://herd.example.test" + saml.CallbackPath
	idp := herdtest.StartSimpleSAMLphp(t, "https://herd.example.test"+saml.MetadataPath, acs,
		herdtest.SAMLUser{Username: "bob", Password: "bob-pw", DisplayName: "Bob", Groups: []string{"devs"}})
	key, cert := herdtest.SAMLKeyPair(t)
	idp.RequireSignedRequests(t, cert)

	unsigned, err := saml.New(context.Background(), saml.Config{IDPMetadataURL: idp.MetadataURL, UIDAttribute: "uid"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(unsigned.AuthCodeURL("s", "v", acs))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `name="AuthState"`) || !strings.Contains(string(body), "no signature found on message") {
		t.Fatalf("an unsigned AuthnRequest: the IdP answered %s without refusing it for its missing signature:\n%.2000s", resp.Status, body)
	}

	signed, err := saml.New(context.Background(), saml.Config{IDPMetadataURL: idp.MetadataURL, UIDAttribute: "uid", SPCertificatePEM: cert, SPKeyPEM: key})
	if err != nil {
		t.Fatal(err)
	}
	_, form := idp.Login(t, signed.AuthCodeURL("s", "v", acs), "bob", "bob-pw")
	if _, err := signed.Exchange(context.Background(), form.Get("SAMLResponse"), "v", acs); err != nil {
		t.Fatal(err)
	}
}
