package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"herd.dev/herd/internal/authn"
)

// classify wraps an error of connecting to server as
// authn.ErrProviderUnavailable, saying when the server's certificate or
// the connect timeout is the cause.
func classify(server string, err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %s did not answer in time (connectTimeout %v): %v", authn.ErrProviderUnavailable, server, timeout, err)
	}
	if isCertificateError(err) {
		return fmt.Errorf("%w: the certificate of %s does not verify with the configured CA (wrong CA in setting certificate, or a server name the certificate does not cover): %v",
			authn.ErrProviderUnavailable, server, err)
	}
	return fmt.Errorf("%w: cannot connect to %s: %v", authn.ErrProviderUnavailable, server, err)
}

// isCertificateError tells whether err is a server certificate that does
// not verify. go-ldap's StartTLS keeps only the text of the handshake's
// error, hence the fallback on the text crypto/tls gives it.
func isCertificateError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	return strings.Contains(err.Error(), "failed to verify certificate")
}

// isUnavailable tells whether the error of a request means the server did
// not answer (closed connection, timeout, busy or unavailable), rather
// than an answer such as "no such object".
func isUnavailable(err error) bool {
	var le *goldap.Error
	if !errors.As(err, &le) {
		return true // not an LDAP result: the network
	}
	switch le.ResultCode {
	case goldap.ErrorNetwork, goldap.LDAPResultTimeout, goldap.LDAPResultTimeLimitExceeded,
		goldap.LDAPResultBusy, goldap.LDAPResultUnavailable:
		return true
	}
	return false
}
