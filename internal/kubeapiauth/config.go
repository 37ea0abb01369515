// Package kubeapiauth is `herd kube-api-auth`: the webhook token
// authenticator (TokenReview, authentication.k8s.io/v1) that a downstream
// cluster's kube-apiserver calls through --authentication-token-webhook-config-file
// so that Herd tokens work against the cluster directly (the authorized
// cluster endpoint), without the Herd server in the path. It runs on each
// control-plane node, on loopback, and answers from Herd's token copies
// (package tokencopy): the Secrets in herd-tokens labelled with this
// cluster's name, held in memory by an informer and an index by token name.
package kubeapiauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// DefaultListen is where the apiserver's webhook kubeconfig points.
const DefaultListen = "127.0.0.1:6440"

// Sentinel errors.
var (
	// ErrNotSynced is returned by Review until the token copies have been
	// listed once; the HTTP layer answers 503 so the apiserver retries and
	// never takes silence for a grant.
	ErrNotSynced = errors.New("kubeapiauth: token copies not synced yet")
	// ErrBadReview is returned by Review for a TokenReview of the wrong
	// apiVersion or kind.
	ErrBadReview = errors.New("kubeapiauth: not an authentication.k8s.io/v1 TokenReview")
)

// Config configures a Server.
type Config struct {
	// Kube reads the token copies of this cluster (list and watch Secrets
	// in herd-tokens). Required.
	Kube kubernetes.Interface
	// Cluster is this cluster's Herd name; only copies labelled with it are
	// read, and only copies scoped to it grant. Required (--cluster).
	Cluster string
	// ClusterUID is the UID of this cluster's Herd Cluster object
	// (--cluster-uid): copies of tokens scoped to an earlier cluster of the
	// same name grant nothing. Empty: not checked (kube-api-auth of an
	// import manifest from before UIDs were written).
	ClusterUID string
	// Listen is the HTTPS listen address (--listen); empty means
	// DefaultListen.
	Listen string
	// TLSCert and TLSKey are the PEM serving certificate and key
	// (--tls-cert, --tls-key); both are required by Run, neither by Review.
	TLSCert, TLSKey string
	// Logger receives the log; nil discards it.
	Logger *slog.Logger
	// Now is the clock that expiry is checked against; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first missing or malformed setting, by flag name.
func (c *Config) Validate() error {
	switch {
	case c.Kube == nil:
		return errors.New("kubeapiauth: a Kubernetes client is required (--kubeconfig or in-cluster config)")
	case c.Cluster == "":
		return errors.New("kubeapiauth: --cluster is required")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("kubeapiauth: --tls-cert and --tls-key go together")
	}
	if errs := validation.IsValidLabelValue(c.Cluster); len(errs) > 0 {
		return fmt.Errorf("kubeapiauth: bad --cluster %q: %s", c.Cluster, strings.Join(errs, "; "))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("kubeapiauth: bad --listen %q: %w", c.Listen, err)
		}
	}
	return nil
}

// withDefaults fills the documented zero values.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
