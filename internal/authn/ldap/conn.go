package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// conn is a connection to one of the servers, bound as the service
// account. It closes when its context ends, so a slow server cannot hold a
// caller past its deadline.
type conn struct {
	*goldap.Conn
	server string
	stop   func() bool
}

// connect dials the servers in order and binds as the service account on
// the first that answers. All failing is authn.ErrProviderUnavailable.
func (p *Provider) connect(ctx context.Context) (*conn, error) {
	var errs []error
	for _, server := range p.cfg.Servers {
		lc, err := p.dial(ctx, server)
		if err != nil {
			err = classify(server, err, p.cfg.ConnectTimeout)
			p.log.Warn("LDAP server unavailable", "server", server, "err", err)
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		c := &conn{Conn: lc, server: server}
		c.stop = context.AfterFunc(ctx, func() { lc.Close() })
		if err := c.bindService(p.cfg); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return nil, errors.Join(errs...)
}

// dial connects to server with the configured TLS mode; ConnectTimeout
// bounds the TCP connect, the TLS handshake and StartTLS.
func (p *Provider) dial(ctx context.Context, server string) (_ *goldap.Conn, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	defer func() {
		// Errors at the deadline are the deadline's, whatever go-ldap
		// made of them (its own timeout for StartTLS, a read that timed
		// out), even before the context's timer says so.
		if err != nil && !time.Now().Before(deadline) && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%v: %w", err, context.DeadlineExceeded)
		}
	}()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	_ = raw.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(server)
	tlsConfig := &tls.Config{ServerName: host, RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	var lc *goldap.Conn
	switch p.cfg.TLS {
	case TLSLDAPS:
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		lc = goldap.NewConn(tc, true)
		lc.Start()
	case TLSStartTLS:
		lc = goldap.NewConn(raw, false)
		lc.Start()
		lc.SetTimeout(p.cfg.ConnectTimeout)
		if err := lc.StartTLS(tlsConfig); err != nil {
			lc.Close()
			return nil, err
		}
	default:
		lc = goldap.NewConn(raw, false)
		lc.Start()
	}
	_ = raw.SetDeadline(time.Time{})
	lc.SetTimeout(p.cfg.RequestTimeout)
	return lc, nil
}

// bindService binds as the service account. A refused bind is a
// configuration error, which leaves the provider unusable.
func (c *conn) bindService(cfg Config) error {
	err := c.Bind(cfg.ServiceAccountDN, cfg.ServiceAccountPassword)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		return fmt.Errorf("%w: %s refused the service account %s (check serviceAccountDN and its password): %v",
			authn.ErrProviderUnavailable, c.server, cfg.ServiceAccountDN, err)
	}
	if err != nil {
		return c.fail("bind as the service account", err)
	}
	return nil
}

// fail wraps the error of a request: authn.ErrProviderUnavailable when the
// server did not answer.
func (c *conn) fail(what string, err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("%w: %s: failed to %s: %v", authn.ErrProviderUnavailable, c.server, what, err)
	}
	return fmt.Errorf("ldap: %s: failed to %s: %w", c.server, what, err)
}

// Close closes the connection.
func (c *conn) Close() {
	c.stop()
	c.Conn.Close()
}
