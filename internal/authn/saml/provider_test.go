package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/saml"
)

const (
	acs       = "https://herd.example.test" + saml.CallbackPath
	idpEntity = "https://idp.example.test/metadata"
)

// testIdP is crewjam/saml's identity provider with a key of its own.
type testIdP struct {
	*crewsaml.IdentityProvider
	key  *rsa.PrivateKey
	cert *x509.Certificate
	sp   *crewsaml.EntityDescriptor // the SP it answers
}

func (i *testIdP) GetServiceProvider(_ *http.Request, id string) (*crewsaml.EntityDescriptor, error) {
	return i.sp, nil
}

func keyPair(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func newIdP(t *testing.T) *testIdP {
	key, cert := keyPair(t, "idp")
	i := &testIdP{key: key, cert: cert}
	md, _ := url.Parse(idpEntity)
	sso, _ := url.Parse("https://idp.example.test/sso")
	i.IdentityProvider = &crewsaml.IdentityProvider{Key: key, Signer: key, Certificate: cert, MetadataURL: *md, SSOURL: *sso, ServiceProviderProvider: i}
	return i
}

func (i *testIdP) metadata(t *testing.T) string {
	data, err := xml.Marshal(i.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// newProvider is Herd's provider for idp, which answers Herd.
func newProvider(t *testing.T, idp *testIdP, mod func(*saml.Config)) *saml.Provider {
	t.Helper()
	cfg := saml.Config{IDPMetadata: idp.metadata(t), GroupsAttribute: "eduPersonAffiliation"}
	if mod != nil {
		mod(&cfg)
	}
	p, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	md, err := p.Metadata(context.Background(), acs)
	if err != nil {
		t.Fatal(err)
	}
	if idp.sp, err = samlsp.ParseMetadata(md); err != nil {
		t.Fatal(err)
	}
	return p
}

func session(user string) *crewsaml.Session {
	return &crewsaml.Session{ID: "s-" + user, CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
		NameID: user + "-id", NameIDFormat: string(crewsaml.PersistentNameIDFormat), UserName: user, UserCommonName: "User " + user,
		Groups: []string{"devs", "ops"}}
}

// answer is the SAMLResponse idp posts for the login that p starts with
// verifier.
func answer(t *testing.T, idp *testIdP, p *saml.Provider, verifier string, s *crewsaml.Session) string {
	t.Helper()
	return answerAt(t, idp, p, verifier, s, time.Time{})
}

// answerAt is answer with the assertion made at a time (zero: now).
func answerAt(t *testing.T, idp *testIdP, p *saml.Provider, verifier string, s *crewsaml.Session, at time.Time) string {
	t.Helper()
	u := p.AuthCodeURL("state-1", verifier, acs)
	if u == "" {
		t.Fatal("no login URL")
	}
	req, err := crewsaml.NewIdpAuthnRequest(idp.IdentityProvider, httptest.NewRequest(http.MethodGet, u, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("the IdP refused Herd's AuthnRequest: %v", err)
	}
	if req.RelayState != "state-1" {
		t.Errorf("RelayState %q, want the login's state", req.RelayState)
	}
	if !at.IsZero() {
		req.Now = at
	}
	if err := (crewsaml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		t.Fatal(err)
	}
	form, err := req.PostBinding()
	if err != nil {
		t.Fatal(err)
	}
	return form.SAMLResponse
}

func TestLogin(t *testing.T) {
	idp := newIdP(t)
	p := newProvider(t, idp, nil)
	id, err := p.Exchange(context.Background(), answer(t, idp, p, "verifier-1", session("alice")), "verifier-1", acs)
	if err != nil {
		t.Fatal(err)
	}
	if id.Provider != authn.ProviderSAML || id.UserPrincipal != "saml_user://"+idpEntity+"/alice-id" || id.Username != "alice" || id.DisplayName != "User alice" {
		t.Errorf("identity %+v", id)
	}
	want := []string{"saml_group://" + idpEntity + "/devs", "saml_group://" + idpEntity + "/ops"}
	if strings.Join(id.Groups, ",") != strings.Join(want, ",") {
		t.Errorf("groups %v, want %v", id.Groups, want)
	}
	groups, _, err := p.Refresh(context.Background(), id.UserPrincipal, id.RefreshState)
	if err != nil || len(groups) != 2 {
		t.Errorf("refresh right after the login: %v %v", groups, err)
	}
}

// refused asserts that Exchange refuses with authn.ErrFlow.
func refused(t *testing.T, what string, p *saml.Provider, code, verifier string) {
	t.Helper()
	id, err := p.Exchange(context.Background(), code, verifier, acs)
	if !errors.Is(err, authn.ErrFlow) {
		t.Errorf("%s: got %+v, %v; want refused", what, id, err)
		return
	}
	t.Logf("%s: %v", what, err)
}

func TestRefused(t *testing.T) {
	idp := newIdP(t)
	p := newProvider(t, idp, nil)
	good := answer(t, idp, p, "verifier-1", session("alice"))

	refused(t, "the answer to another login (InResponseTo)", p, good, "verifier-2")

	other := newIdP(t) // same entity id, another key
	other.sp = idp.sp
	refused(t, "signed by another key", p, answer(t, other, p, "verifier-1", session("alice")), "verifier-1")

	unknown := newIdP(t) // another IdP altogether
	md, _ := url.Parse("https://unknown-idp.example.test/metadata")
	unknown.MetadataURL = *md
	unknown.sp = idp.sp
	refused(t, "from an unknown IdP", p, answer(t, unknown, p, "verifier-1", session("alice")), "verifier-1")

	refused(t, "made an hour ago", p, answerAt(t, idp, p, "verifier-1", session("alice"), time.Now().Add(-time.Hour)), "verifier-1")
	refused(t, "made 5 minutes ahead", p, answerAt(t, idp, p, "verifier-1", session("alice"), time.Now().Add(5*time.Minute)), "verifier-1")

	// The IdP answers an SP of another entity id: the audience is not Herd.
	idp2 := newIdP(t)
	p2 := newProvider(t, idp2, nil)
	otherSP := *idp2.sp
	otherSP.EntityID = "https://other-sp.example.test/metadata"
	idp2.sp = &otherSP
	refused(t, "a response to another SP", p2, answer(t, idp2, p2, "verifier-1", session("alice")), "verifier-1")

	doc := etree.NewDocument()
	raw, _ := base64.StdEncoding.DecodeString(good)
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	unsigned := doc.Copy()
	for _, sig := range unsigned.FindElements("//Signature") {
		sig.Parent().RemoveChild(sig)
	}
	refused(t, "unsigned", p, encode(t, unsigned), "verifier-1")

	// XML signature wrapping: a forged, unsigned assertion for mallory
	// beside the signed one for alice.
	wrapped := doc.Copy()
	signedAssertion := wrapped.FindElement("//Assertion")
	forged := signedAssertion.Copy()
	for _, sig := range forged.FindElements("//Signature") {
		sig.Parent().RemoveChild(sig)
	}
	forged.CreateAttr("ID", "id-forged")
	forged.FindElement("//NameID").SetText("mallory-id")
	signedAssertion.Parent().InsertChildAt(signedAssertion.Index(), forged)
	if id, err := p.Exchange(context.Background(), encode(t, wrapped), "verifier-1", acs); err == nil && id.UserPrincipal != "saml_user://"+idpEntity+"/alice-id" {
		t.Errorf("signature wrapping: logged in as %s", id.UserPrincipal)
	}
	// The signed assertion's NameID changed after signing.
	tampered := doc.Copy()
	tampered.FindElement("//Assertion//NameID").SetText("mallory-id")
	refused(t, "a signed assertion changed after signing", p, encode(t, tampered), "verifier-1")

	refused(t, "not base64", p, "%%%", "verifier-1")
	refused(t, "over 256 KiB", p, base64.StdEncoding.EncodeToString([]byte("<a>"+strings.Repeat("x", 300<<10)+"</a>")), "verifier-1")
	refused(t, "nested 1000 deep", p, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("<a>", 1000)+strings.Repeat("</a>", 1000))), "verifier-1")
	refused(t, "a DTD (entity expansion)", p, base64.StdEncoding.EncodeToString([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><a>&x;</a>`)), "verifier-1")
}

func encode(t *testing.T, doc *etree.Document) string {
	data, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

// TestRefreshBound: the groups of a login hold for groupsMaxAge; after
// that the user counts as gone until they log in again.
func TestRefreshBound(t *testing.T) {
	idp := newIdP(t)
	now := time.Now()
	p := newProvider(t, idp, func(c *saml.Config) {
		c.GroupsMaxAge = time.Hour
		c.Now = func() time.Time { return now }
	})
	id, err := p.Exchange(context.Background(), answer(t, idp, p, "v", session("bob")), "v", acs)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	if groups, _, err := p.Refresh(context.Background(), id.UserPrincipal, id.RefreshState); err != nil || len(groups) != 2 {
		t.Errorf("59 minutes after the login: %v, %v", groups, err)
	}
	now = now.Add(2 * time.Minute)
	if _, _, err := p.Refresh(context.Background(), id.UserPrincipal, id.RefreshState); !errors.Is(err, authn.ErrUserGone) {
		t.Errorf("61 minutes after the login: %v, want ErrUserGone", err)
	}
}

// TestSignedRequests: with an SP key, the redirect carries a signature the
// IdP checks against Herd's metadata.
func TestSignedRequests(t *testing.T) {
	idp := newIdP(t)
	key, cert := keyPair(t, "herd")
	p := newProvider(t, idp, func(c *saml.Config) {
		c.SPCertificatePEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
		c.SPKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	})
	u, err := url.Parse(p.AuthCodeURL("s", "v", acs))
	if err != nil || u.Query().Get("Signature") == "" || u.Query().Get("SigAlg") != dsig.RSASHA256SignatureMethod {
		t.Fatalf("login URL %v (%v): no RSA-SHA256 signature", u, err)
	}
	if _, err := p.Exchange(context.Background(), answer(t, idp, p, "v", session("carol")), "v", acs); err != nil {
		t.Fatal(err)
	}
	md, _ := p.Metadata(context.Background(), acs)
	if !strings.Contains(string(md), base64.StdEncoding.EncodeToString(cert.Raw)[:40]) || !strings.Contains(string(md), acs) {
		t.Errorf("metadata lacks the SP certificate or the callback:\n%s", md)
	}
}

func TestConfig(t *testing.T) {
	idp := newIdP(t)
	md := idp.metadata(t)
	for _, tc := range []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"idpMetadata": md, "idpMetdataURL": "x"}, "unknown setting"},
		{map[string]string{}, "set exactly one of idpMetadataURL"},
		{map[string]string{"idpMetadata": md, "idpMetadataURL": "https://idp.example.test/md"}, "set exactly one"},
		{map[string]string{"idpMetadataURL": "http://idp.example.test/md"}, "must be https"},
		{map[string]string{"idpMetadata": md, "clockSkew": "10m"}, "clockSkew must be between"},
		{map[string]string{"idpMetadata": md, "clockSkew": "soon"}, "not a duration"},
		{map[string]string{"idpMetadata": md, "groupsMaxAge": "1m"}, "groupsMaxAge must be between"},
		{map[string]string{"idpMetadata": md, "spCertificate": "x"}, "need both spCertificate"},
		{map[string]string{"idpMetadata": "<nope/>"}, "not SAML metadata"},
	} {
		cfg, err := saml.ConfigFromSettings(tc.settings, "")
		if err == nil {
			_, err = saml.New(context.Background(), cfg)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.settings, err, tc.want)
		}
	}
}
