package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdclient"
)

// action is what a command tried, for its error messages.
type action struct {
	what string // "delete cluster c1"
	kind string // "cluster", when the action names one object
	name string
}

// hintError says what went wrong and what to do next, and keeps the cause
// for errors.Is and errors.As.
type hintError struct {
	msg string
	err error
}

func (e *hintError) Error() string { return e.msg }
func (e *hintError) Unwrap() error { return e.err }

func hint(err error, format string, args ...any) error {
	return &hintError{msg: fmt.Sprintf(format, args...), err: err}
}

// explain turns a client error into one that says what to do next.
func explain(err error, cfg *fileConfig, act action) error {
	if err == nil {
		return nil
	}
	var apiErr *herdclient.APIError
	if errors.As(err, &apiErr) {
		return explainStatus(apiErr, cfg, act)
	}
	if errors.Is(err, context.Canceled) {
		return hint(err, "interrupted")
	}
	if msg, ok := explainTLS(err, cfg); ok {
		return hint(err, "%s", msg)
	}
	if unreachable(err) {
		cause := err
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			cause = urlErr.Err
		}
		return hint(err, "server %s is unreachable (%v): check the address and that the server is running", cfg.Server, cause)
	}
	return fmt.Errorf("failed to %s: %w", act.what, err)
}

func explainStatus(e *herdclient.APIError, cfg *fileConfig, act action) error {
	switch {
	case e.Code == http.StatusUnauthorized:
		return hint(e, "your token was refused (expired or revoked): run `%s` again", loginCommand(cfg))
	case e.Code == http.StatusForbidden:
		detail := strings.TrimPrefix(e.Message, "forbidden: ")
		if detail == "" {
			detail = "you may not " + act.what
		}
		return hint(e, "forbidden: ask an administrator (%s)", detail)
	case e.Code == http.StatusNotFound && act.name != "":
		return hint(e, "%s %s not found: see `herdctl %ss list`", act.kind, act.name, act.kind)
	case e.Code == http.StatusNotFound:
		return hint(e, "failed to %s: %s has no such endpoint: is it a Herd server of a matching version?", act.what, cfg.Server)
	case e.Code == http.StatusConflict && act.name != "" && e.Reason != string(metav1.StatusReasonConflict):
		return hint(e, "%s %s already exists: see `herdctl %ss list`", act.kind, act.name, act.kind)
	case e.Code == http.StatusTooManyRequests:
		return hint(e, "too many requests: try again in %s", retryIn(e))
	case e.Code >= 500:
		return hint(e, "failed to %s: the server failed (%d): ask an administrator to check the server log", act.what, e.Code)
	case e.Message != "":
		return hint(e, "failed to %s: %s", act.what, e.Message)
	}
	return fmt.Errorf("failed to %s: %w", act.what, e)
}

// retryIn says when to retry after a 429.
func retryIn(e *herdclient.APIError) string {
	if e.RetryAfter <= 0 {
		return "a while"
	}
	return fmt.Sprintf("%ds", int(e.RetryAfter.Seconds()))
}

// explainTLS describes a failed verification of the server's certificate.
func explainTLS(err error, cfg *fileConfig) (string, bool) {
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var cause error
	switch {
	case errors.As(err, &host):
		return fmt.Sprintf("the certificate of %s is not valid for that name (%v): use an address the certificate names", cfg.Server, host), true
	case errors.As(err, &unknown):
		cause = unknown
	case errors.As(err, &invalid):
		cause = invalid
	case errors.As(err, &verr):
		cause = verr.Err
	default:
		return "", false
	}
	relogin := loginCommand(cfg) + " --ca-checksum SHA256"
	if cfg.CACert != "" {
		return fmt.Sprintf("the certificate of %s does not match the CA pinned at login (%v): if the server's CA changed, get its checksum from your administrator and run `%s`",
			cfg.Server, cause, relogin), true
	}
	return fmt.Sprintf("the certificate of %s is not trusted (%v): get the CA checksum from your administrator and run `%s`",
		cfg.Server, cause, relogin), true
}

// unreachable reports whether err means no connection to the server.
func unreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	return errors.As(err, &dnsErr) ||
		errors.As(err, &opErr) && opErr.Op == "dial" ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.As(err, &netErr) && netErr.Timeout()
}
