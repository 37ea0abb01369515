package saml

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"herd.dev/herd/internal/authn"
)

// Provider is Herd's service provider for one SAML identity provider. It
// is safe for concurrent use.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	spKey  crypto.Signer
	spCert *x509.Certificate

	mu      sync.Mutex
	idp     *saml.EntityDescriptor
	fetched time.Time
}

var (
	_ authn.RedirectProvider = (*Provider)(nil)
	_ authn.Refresher        = (*Provider)(nil)
)

// New validates cfg and reads the IdP's metadata. It fails with
// authn.ErrProviderUnavailable when the metadata URL does not answer, and
// with a plain error when the metadata is not usable.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Provider{cfg: cfg, client: newHTTPClient(cfg.CAPEM, cfg.HTTPTimeout)}
	if cfg.SPKeyPEM != "" {
		p.spKey, p.spCert, _ = cfg.spKeyPair() // checked by Validate
	}
	var md *saml.EntityDescriptor
	var err error
	if cfg.IDPMetadata != "" {
		md, err = samlsp.ParseMetadata([]byte(cfg.IDPMetadata))
		if err != nil {
			return nil, fmt.Errorf("saml: idpMetadata is not SAML metadata: %v", err)
		}
	} else if md, err = p.fetch(ctx); err != nil {
		return nil, err
	}
	if err := usable(md); err != nil {
		return nil, err
	}
	p.idp, p.fetched = md, time.Now()
	p.log = cfg.Logger.With("provider", authn.ProviderSAML, "idp", md.EntityID)
	return p, nil
}

// usable checks that metadata describes an IdP Herd can use.
func usable(md *saml.EntityDescriptor) error {
	if md.EntityID == "" {
		return errors.New("saml: the IdP metadata has no entityID")
	}
	var redirect, signing bool
	for _, d := range md.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			redirect = redirect || s.Binding == saml.HTTPRedirectBinding
		}
		for _, k := range d.KeyDescriptors {
			signing = signing || (k.Use == "" || k.Use == "signing") && len(k.KeyInfo.X509Data.X509Certificates) > 0
		}
	}
	switch {
	case !redirect:
		return fmt.Errorf("saml: IdP %s has no SingleSignOnService with the HTTP-Redirect binding", md.EntityID)
	case !signing:
		return fmt.Errorf("saml: IdP %s publishes no signing certificate", md.EntityID)
	}
	return nil
}

// fetch reads the metadata URL.
func (p *Provider) fetch(ctx context.Context) (*saml.EntityDescriptor, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.IDPMetadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: saml: read %s: %v", authn.ErrProviderUnavailable, p.cfg.IDPMetadataURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: saml: read %s: %v", authn.ErrProviderUnavailable, p.cfg.IDPMetadataURL, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: saml: %s answered %s", authn.ErrProviderUnavailable, p.cfg.IDPMetadataURL, resp.Status)
	case len(data) > maxMetadataBytes:
		return nil, fmt.Errorf("saml: the metadata at %s is over 1 MiB", p.cfg.IDPMetadataURL)
	}
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("saml: %s is not SAML metadata: %v", p.cfg.IDPMetadataURL, err)
	}
	return md, nil
}

// metadata is the IdP's metadata, read again from its URL once an hour
// (the last good copy is kept when that fails).
func (p *Provider) metadata(ctx context.Context) *saml.EntityDescriptor {
	p.mu.Lock()
	md, stale := p.idp, p.cfg.IDPMetadataURL != "" && time.Since(p.fetched) > metadataRefresh
	if stale {
		p.fetched = time.Now() // one refresh at a time
	}
	p.mu.Unlock()
	if !stale {
		return md
	}
	fresh, err := p.fetch(ctx)
	if err == nil {
		err = usable(fresh)
	}
	if err != nil {
		p.log.Warn("failed to read the IdP metadata again; using the last copy", "err", err)
		return md
	}
	if fresh.EntityID != md.EntityID {
		p.log.Warn("the IdP metadata names another entity now; using the last copy", "entityID", fresh.EntityID)
		return md
	}
	p.mu.Lock()
	p.idp = fresh
	p.mu.Unlock()
	return fresh
}

// IDPEntityID is the IdP's entity id, as in principal ids.
func (p *Provider) IDPEntityID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idp.EntityID
}

// serviceProvider is Herd's SP for the assertion consumer URL acs (the
// server URL + CallbackPath).
func (p *Provider) serviceProvider(ctx context.Context, acs string) (*saml.ServiceProvider, error) {
	acsURL, err := url.Parse(acs)
	if err != nil || !strings.HasSuffix(acsURL.Path, CallbackPath) {
		return nil, fmt.Errorf("saml: %q is not Herd's callback URL", acs)
	}
	metadataURL := *acsURL
	metadataURL.Path = strings.TrimSuffix(acsURL.Path, CallbackPath) + MetadataPath
	sp := &saml.ServiceProvider{
		EntityID:                         p.cfg.EntityID,
		MetadataURL:                      metadataURL,
		AcsURL:                           *acsURL,
		IDPMetadata:                      p.metadata(ctx),
		AuthnNameIDFormat:                saml.PersistentNameIDFormat,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		RejectSHA1Signatures:             true,
		RejectUnknownConditions:          false,
	}
	if p.cfg.UIDAttribute != "" {
		sp.AuthnNameIDFormat = saml.UnspecifiedNameIDFormat
	}
	if p.spKey != nil {
		sp.Key, sp.Certificate, sp.SignatureMethod = p.spKey, p.spCert, signatureMethod(p.spKey)
	}
	return sp, nil
}

// EntityID is Herd's entity id for a callback URL.
func (p *Provider) EntityID(acs string) (string, error) {
	sp, err := p.serviceProvider(context.Background(), acs)
	if err != nil {
		return "", err
	}
	if sp.EntityID != "" {
		return sp.EntityID, nil
	}
	return sp.MetadataURL.String(), nil
}

// Metadata is Herd's SP metadata for a callback URL, to give the IdP.
func (p *Provider) Metadata(ctx context.Context, acs string) ([]byte, error) {
	sp, err := p.serviceProvider(ctx, acs)
	if err != nil {
		return nil, err
	}
	out, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// requestID derives the AuthnRequest id from the login's verifier (kept
// in the login's single-use record), so the callback can check
// InResponseTo without more state: a one-way, domain-separated hash, and
// a valid xs:ID (it starts with a letter).
func requestID(verifier string) string {
	sum := sha256.Sum256([]byte("herd-saml-request\x00" + verifier))
	return "id-" + hex.EncodeToString(sum[:20])
}

// AuthCodeURL is the IdP's single sign-on URL with Herd's AuthnRequest
// (HTTP-Redirect binding, signed when Herd has an SP key) and state as
// the RelayState; "" when it cannot be made (logged).
func (p *Provider) AuthCodeURL(state, verifier, redirectURL string) string {
	sp, err := p.serviceProvider(context.Background(), redirectURL)
	if err != nil {
		p.log.Error("no SAML login URL", "err", err)
		return ""
	}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		p.log.Error("no SAML login URL", "err", err)
		return ""
	}
	req.ID = requestID(verifier)
	u, err := req.Redirect(state, sp)
	if err != nil {
		p.log.Error("no SAML login URL", "err", err)
		return ""
	}
	return u.String()
}

// maxCodeBytes bounds the base64 SAMLResponse.
const maxCodeBytes = (MaxResponseBytes/3 + 1) * 4

// Exchange checks the IdP's Response (code, the base64 SAMLResponse form
// field) to the AuthnRequest of this login (verifier) and returns the
// user it vouches for. Every refusal wraps authn.ErrFlow with the reason,
// for the log.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURL string) (*authn.ExternalIdentity, error) {
	if len(code) > maxCodeBytes {
		return nil, fmt.Errorf("%w: saml: SAMLResponse of %d bytes, over %d", authn.ErrFlow, len(code), maxCodeBytes)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code))
	if err != nil {
		return nil, fmt.Errorf("%w: saml: SAMLResponse is not base64", authn.ErrFlow)
	}
	if err := checkXML(data); err != nil {
		return nil, fmt.Errorf("%w: %v", authn.ErrFlow, err)
	}
	sp, err := p.serviceProvider(ctx, redirectURL)
	if err != nil {
		return nil, err
	}
	assertion, err := sp.ParseXMLResponse(data, []string{requestID(verifier)}, sp.AcsURL)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr
		}
		return nil, fmt.Errorf("%w: saml: response refused: %v", authn.ErrFlow, err)
	}
	if err := p.checkTimes(assertion); err != nil {
		return nil, fmt.Errorf("%w: saml: %v", authn.ErrFlow, err)
	}
	return p.identity(assertion, sp.IDPMetadata.EntityID)
}

// checkTimes holds the assertion's validity to the configured clock skew
// (the library allows up to MaxClockSkew).
func (p *Provider) checkTimes(a *saml.Assertion) error {
	now, skew := time.Now(), p.cfg.ClockSkew
	if c := a.Conditions; c != nil {
		if !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore) {
			return fmt.Errorf("assertion not valid before %s (clock skew allowed %s)", c.NotBefore.UTC().Format(time.RFC3339), skew)
		}
		if !c.NotOnOrAfter.IsZero() && !now.Add(-skew).Before(c.NotOnOrAfter) {
			return fmt.Errorf("assertion expired at %s (clock skew allowed %s)", c.NotOnOrAfter.UTC().Format(time.RFC3339), skew)
		}
	}
	if a.Subject != nil {
		for _, sc := range a.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && !d.NotOnOrAfter.IsZero() && !now.Add(-skew).Before(d.NotOnOrAfter) {
				return fmt.Errorf("subject confirmation expired at %s (clock skew allowed %s)", d.NotOnOrAfter.UTC().Format(time.RFC3339), skew)
			}
		}
	}
	return nil
}

// Bounds on what an assertion may give a user.
const (
	maxGroups      = 1000
	maxValueLength = 256
)

// identity reads the user from a checked assertion.
func (p *Provider) identity(a *saml.Assertion, idpEntity string) (*authn.ExternalIdentity, error) {
	attr := func(names ...string) []string {
		for _, name := range names {
			if name == "" {
				continue
			}
			for _, st := range a.AttributeStatements {
				for _, at := range st.Attributes {
					if at.Name == name || at.FriendlyName == name {
						var out []string
						for _, v := range at.Values {
							if s := strings.TrimSpace(v.Value); s != "" {
								out = append(out, s)
							}
						}
						return out
					}
				}
			}
		}
		return nil
	}
	first := func(names ...string) string {
		if v := attr(names...); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var uid string
	if p.cfg.UIDAttribute != "" {
		if uid = first(p.cfg.UIDAttribute); uid == "" {
			return nil, fmt.Errorf("%w: saml: the assertion has no attribute %s (uidAttribute)", authn.ErrFlow, p.cfg.UIDAttribute)
		}
	} else {
		if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
			return nil, fmt.Errorf("%w: saml: the assertion has no NameID; set uidAttribute", authn.ErrFlow)
		}
		if a.Subject.NameID.Format == string(saml.TransientNameIDFormat) {
			return nil, fmt.Errorf("%w: saml: the NameID is transient (new at every login); have the IdP send a persistent one or set uidAttribute", authn.ErrFlow)
		}
		uid = strings.TrimSpace(a.Subject.NameID.Value)
	}
	username := first(p.cfg.UsernameAttribute)
	if p.cfg.UsernameAttribute == "" {
		username = first("uid")
	}
	if username == "" {
		username = uid
	}
	displayName := first(p.cfg.DisplayNameAttribute)
	if p.cfg.DisplayNameAttribute == "" {
		displayName = first("displayName", "cn")
	}
	groupNames := attr(p.cfg.GroupsAttribute)
	if len(groupNames) > maxGroups {
		return nil, fmt.Errorf("%w: saml: the assertion names %d groups, over %d", authn.ErrFlow, len(groupNames), maxGroups)
	}
	for _, v := range append([]string{uid, username, displayName}, groupNames...) {
		if len(v) > maxValueLength || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
			return nil, fmt.Errorf("%w: saml: an attribute value is over %d bytes or has control characters", authn.ErrFlow, maxValueLength)
		}
	}
	groups := make([]string, 0, len(groupNames))
	for _, g := range groupNames {
		groups = append(groups, GroupPrincipal(idpEntity, g))
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	state, err := json.Marshal(refreshState{Groups: groups, LoginAt: p.cfg.Now().Unix()})
	if err != nil {
		return nil, err
	}
	return &authn.ExternalIdentity{
		Provider:      authn.ProviderSAML,
		UserPrincipal: UserPrincipal(idpEntity, uid),
		Username:      username,
		DisplayName:   displayName,
		Groups:        groups,
		RefreshState:  string(state),
	}, nil
}

// UserPrincipal is the principal id of a user of an IdP.
func UserPrincipal(idpEntity, uid string) string {
	return authn.ProviderSAML + "_user://" + idpEntity + "/" + uid
}

// GroupPrincipal is the principal id of a group of an IdP.
func GroupPrincipal(idpEntity, group string) string {
	return authn.ProviderSAML + "_group://" + idpEntity + "/" + group
}

// refreshState is what a login leaves for Refresh: SAML cannot read a
// user's groups without the user, so they are the login's.
type refreshState struct {
	Groups  []string `json:"groups"`
	LoginAt int64    `json:"loginAt"`
}

// Refresh returns the groups of the user's last login while they are
// younger than GroupsMaxAge; after that, authn.ErrUserGone, so the user's
// tokens are revoked and they log in again (which the IdP refuses to a
// user it no longer has).
func (p *Provider) Refresh(_ context.Context, userPrincipal, state string) ([]string, string, error) {
	var s refreshState
	if err := json.Unmarshal([]byte(state), &s); err != nil {
		return nil, "", fmt.Errorf("%w: saml: no groups kept from the last login of %s", authn.ErrUserGone, userPrincipal)
	}
	if age := p.cfg.Now().Sub(time.Unix(s.LoginAt, 0)); age > p.cfg.GroupsMaxAge {
		return nil, "", fmt.Errorf("%w: saml: the groups of %s are from a login %s ago, over groupsMaxAge %s: log in again",
			authn.ErrUserGone, userPrincipal, age.Round(time.Second), p.cfg.GroupsMaxAge)
	}
	return s.Groups, state, nil
}

// newHTTPClient reads the metadata URL: the configured roots, a timeout.
func newHTTPClient(caPEM string, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caPEM != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(caPEM))
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
