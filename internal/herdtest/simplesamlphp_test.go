package herdtest_test

import (
	"context"
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
