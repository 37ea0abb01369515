package ldap

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// Provider is an LDAP or Active Directory identity provider. Each call
// opens its own connection, bound as the service account, and closes it.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	roots *x509.CertPool // nil: the system's
}

var (
	_ authn.PasswordProvider = (*Provider)(nil)
	_ authn.Searcher         = (*Provider)(nil)
	_ authn.Refresher        = (*Provider)(nil)
)

// New validates cfg and returns its Provider; log (nil: discard) gets
// which server failed and why.
func New(cfg Config, log *slog.Logger) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Provider{cfg: cfg.withDefaults(), log: log.With("provider", cfg.Flavor)}
	if len(cfg.CAPEM) > 0 {
		p.roots = x509.NewCertPool()
		p.roots.AppendCertsFromPEM(cfg.CAPEM)
	}
	return p, nil
}

// Authenticate checks username and password. A wrong password, an unknown
// or ambiguous login, an empty password and a disabled account are all
// authn.ErrBadCredentials, wrapped with the detail for the log.
func (p *Provider) Authenticate(ctx context.Context, username, password string) (*authn.ExternalIdentity, error) {
	if username == "" || password == "" {
		// A DN with an empty password is an unauthenticated bind, which
		// some servers accept: never send one.
		return nil, fmt.Errorf("%w: empty username or password", authn.ErrBadCredentials)
	}
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	entry, err := p.findLogin(c, username)
	if err != nil {
		return nil, err
	}
	if p.disabled(entry) {
		return nil, fmt.Errorf("%w: %s is disabled (userAccountControl)", authn.ErrBadCredentials, entry.DN)
	}
	if err := c.Bind(entry.DN, password); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			return nil, fmt.Errorf("%w: wrong password for %s", authn.ErrBadCredentials, entry.DN)
		}
		return nil, c.fail("bind as "+entry.DN, err)
	}
	// The groups are read as the service account, as the refresh does.
	if err := c.bindService(p.cfg); err != nil {
		return nil, err
	}
	groups, err := p.groups(c, entry)
	if err != nil {
		return nil, err
	}
	return &authn.ExternalIdentity{
		Provider:      p.cfg.Flavor,
		UserPrincipal: p.userPrincipal(entry),
		Username:      p.login(entry),
		DisplayName:   entry.GetEqualFoldAttributeValue(p.cfg.UserNameAttribute),
		Groups:        groups,
	}, nil
}
