package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	dsig "github.com/russellhaering/goxmldsig"

	"herd.dev/herd/internal/authn"
)

// Keys of AuthConfig.spec.settings for type saml.
const (
	SettingIDPMetadataURL       = "idpMetadataURL"
	SettingIDPMetadata          = "idpMetadata"
	SettingEntityID             = "entityID"
	SettingUIDAttribute         = "uidAttribute"
	SettingUsernameAttribute    = "usernameAttribute"
	SettingDisplayNameAttribute = "displayNameAttribute"
	SettingGroupsAttribute      = "groupsAttribute"
	SettingClockSkew            = "clockSkew"
	SettingGroupsMaxAge         = "groupsMaxAge"
	SettingCertificate          = "certificate"
	SettingHTTPTimeout          = "httpTimeout"
	SettingSPCertificate        = "spCertificate"
)

// SecretSPKey is the key, in the AuthConfig's Secret, of the PEM private
// key that signs Herd's AuthnRequests (with setting spCertificate).
const SecretSPKey = "spKey"

var settingKeys = []string{
	SettingIDPMetadataURL, SettingIDPMetadata, SettingEntityID, SettingUIDAttribute, SettingUsernameAttribute,
	SettingDisplayNameAttribute, SettingGroupsAttribute, SettingClockSkew, SettingGroupsMaxAge,
	SettingCertificate, SettingHTTPTimeout, SettingSPCertificate,
}

// Paths of Herd's service provider, under the server URL.
const (
	// MetadataPath serves the SP metadata; by default it is also the
	// entity id.
	MetadataPath = "/v1/auth/saml/metadata"
	// CallbackPath is the assertion consumer service (HTTP-POST).
	CallbackPath = "/v1/auth/callback/saml"
)

// Defaults and bounds of Config.
const (
	DefaultGroupsAttribute = "groups"
	DefaultClockSkew       = time.Minute
	MaxClockSkew           = 3 * time.Minute // crewjam/saml's own bound
	DefaultGroupsMaxAge    = 12 * time.Hour
	MinGroupsMaxAge        = 5 * time.Minute
	MaxGroupsMaxAge        = 30 * 24 * time.Hour
	DefaultHTTPTimeout     = 10 * time.Second
	// metadataRefresh is how often metadata from a URL is read again (for
	// the IdP's key rotations).
	metadataRefresh = time.Hour
	// maxMetadataBytes bounds IdP metadata, by URL or document.
	maxMetadataBytes = 1 << 20
)

// Config configures a Provider. The field comments name the AuthConfig
// setting each one comes from (see ConfigFromSettings).
type Config struct {
	// IDPMetadataURL is where the IdP's metadata is read (setting
	// idpMetadataURL): https, or http on a loopback address only.
	IDPMetadataURL string
	// IDPMetadata is the IdP's metadata document itself (setting
	// idpMetadata). Exactly one of the two is set.
	IDPMetadata string
	// EntityID is Herd's entity id at the IdP (setting entityID); empty:
	// the server URL + MetadataPath.
	EntityID string
	// UIDAttribute names the attribute with the user's stable id (setting
	// uidAttribute); empty: the assertion's NameID, which must then be
	// persistent (not transient).
	UIDAttribute string
	// UsernameAttribute names the attribute with the login name (setting
	// usernameAttribute); empty: uid, else the user id.
	UsernameAttribute string
	// DisplayNameAttribute names the attribute with the full name (setting
	// displayNameAttribute); empty: displayName, else cn.
	DisplayNameAttribute string
	// GroupsAttribute names the attribute with the groups (setting
	// groupsAttribute); empty: groups.
	GroupsAttribute string
	// ClockSkew is how far the IdP's clock may be off (setting clockSkew,
	// a Go duration); zero: one minute; at most three.
	ClockSkew time.Duration
	// GroupsMaxAge is how long the groups of a login are trusted (setting
	// groupsMaxAge); zero: 12h.
	GroupsMaxAge time.Duration
	// CAPEM are the PEM certificates the metadata URL's certificate must
	// chain to (setting certificate); empty: the system's roots.
	CAPEM string
	// HTTPTimeout bounds reading the metadata URL (setting httpTimeout).
	HTTPTimeout time.Duration
	// SPCertificatePEM and SPKeyPEM, if set, sign AuthnRequests and are
	// published in Herd's metadata (setting spCertificate, secret spKey).
	SPCertificatePEM, SPKeyPEM string
	// Logger; nil: discard.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// ConfigFromSettings turns an AuthConfig's settings and the SP key from
// its Secret into a Config (without Logger and Now). Unknown keys are
// errors, so a misspelt setting is not silently ignored.
func ConfigFromSettings(settings map[string]string, spKey string) (Config, error) {
	if err := authn.CheckSettings("saml", settings, settingKeys); err != nil {
		return Config{}, err
	}
	c := Config{
		IDPMetadataURL:       strings.TrimSpace(settings[SettingIDPMetadataURL]),
		IDPMetadata:          strings.TrimSpace(settings[SettingIDPMetadata]),
		EntityID:             strings.TrimSpace(settings[SettingEntityID]),
		UIDAttribute:         strings.TrimSpace(settings[SettingUIDAttribute]),
		UsernameAttribute:    strings.TrimSpace(settings[SettingUsernameAttribute]),
		DisplayNameAttribute: strings.TrimSpace(settings[SettingDisplayNameAttribute]),
		GroupsAttribute:      strings.TrimSpace(settings[SettingGroupsAttribute]),
		CAPEM:                settings[SettingCertificate],
		SPCertificatePEM:     strings.TrimSpace(settings[SettingSPCertificate]),
		SPKeyPEM:             strings.TrimSpace(spKey),
	}
	for key, d := range map[string]*time.Duration{SettingClockSkew: &c.ClockSkew, SettingGroupsMaxAge: &c.GroupsMaxAge, SettingHTTPTimeout: &c.HTTPTimeout} {
		if s := strings.TrimSpace(settings[key]); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil {
				return Config{}, fmt.Errorf("saml: %s %q is not a duration such as 90s or 12h", key, s)
			}
			*d = v
		}
	}
	return c, nil
}

// Validate reports what is wrong with c, in words that say what to set.
func (c Config) Validate() error {
	switch {
	case (c.IDPMetadataURL == "") == (c.IDPMetadata == ""):
		return errors.New("saml: set exactly one of idpMetadataURL (where the IdP publishes its metadata) and idpMetadata (the metadata document)")
	case len(c.IDPMetadata) > maxMetadataBytes:
		return errors.New("saml: idpMetadata is over 1 MiB")
	case c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew:
		return fmt.Errorf("saml: clockSkew must be between 0s and %s", MaxClockSkew)
	case c.GroupsMaxAge != 0 && (c.GroupsMaxAge < MinGroupsMaxAge || c.GroupsMaxAge > MaxGroupsMaxAge):
		return fmt.Errorf("saml: groupsMaxAge must be between %s and %s", MinGroupsMaxAge, MaxGroupsMaxAge)
	case c.HTTPTimeout < 0:
		return errors.New("saml: httpTimeout must not be negative")
	case (c.SPCertificatePEM == "") != (c.SPKeyPEM == ""):
		return errors.New("saml: signed AuthnRequests need both spCertificate (setting) and spKey (secret), PEM")
	}
	if c.IDPMetadataURL != "" {
		u, err := url.Parse(c.IDPMetadataURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("saml: idpMetadataURL %q is not a URL", c.IDPMetadataURL)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			return fmt.Errorf("saml: idpMetadataURL %q must be https (http only on a loopback address)", c.IDPMetadataURL)
		}
	}
	if c.EntityID != "" && len(c.EntityID) > 1024 {
		return errors.New("saml: entityID is over 1024 bytes")
	}
	if c.SPKeyPEM != "" {
		if _, _, err := c.spKeyPair(); err != nil {
			return err
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// spKeyPair parses the SP's key and certificate.
func (c Config) spKeyPair() (crypto.Signer, *x509.Certificate, error) {
	block, _ := pem.Decode([]byte(c.SPCertificatePEM))
	if block == nil {
		return nil, nil, errors.New("saml: spCertificate is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: spCertificate: %v", err)
	}
	kb, _ := pem.Decode([]byte(c.SPKeyPEM))
	if kb == nil {
		return nil, nil, errors.New("saml: spKey is not a PEM private key")
	}
	var key any
	switch kb.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("saml: spKey: %v", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !publicKeysEqual(signer.Public(), cert.PublicKey) {
		return nil, nil, errors.New("saml: spKey is not the key of spCertificate")
	}
	return signer, cert, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// withDefaults returns a copy of c with the zero values filled in.
func (c Config) withDefaults() Config {
	if c.GroupsAttribute == "" {
		c.GroupsAttribute = DefaultGroupsAttribute
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.GroupsMaxAge == 0 {
		c.GroupsMaxAge = DefaultGroupsMaxAge
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// signatureMethod is the XML signature method for the SP key.
func signatureMethod(key crypto.Signer) string {
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		return dsig.ECDSASHA256SignatureMethod
	}
	return dsig.RSASHA256SignatureMethod
}
