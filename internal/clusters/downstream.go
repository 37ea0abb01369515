package clusters

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/impersonation"
	"herd.dev/herd/internal/wellknown"
)

// downstreamFor returns the cached transport and clients of a cluster,
// kept by session key (name and UID).
func (m *Manager) DownstreamFor(ctx context.Context, c *v1.Cluster) (*downstream, error) {
	key := sessionKey(c)
	if v, ok := m.targets.Load(key); ok {
		return v.(*downstream), nil
	}
	// c may be the cache's own object (the proxy reads it without a
	// copy); what builds the downstream gets a copy of its own.
	d, err := m.newDownstream(ctx, c.DeepCopy(), true)
	if err != nil {
		return nil, err
	}
	m.targets.Store(key, d)
	return d, nil
}

// downstream is what the proxy keeps per cluster: the target with the
// agent's credential (for reviews) and the users' impersonation accounts.
type downstream struct {
	target   authproxy.Target
	accounts *impersonation.Accounts
	// rest reaches the cluster with the agent's credential.
	rest *rest.Config
}

func subjectOf(c authproxy.Caller) impersonation.Subject {
	return impersonation.Subject{User: c.UserID, Groups: authproxy.Groups(c.Groups, c.Admin), Principals: c.Principals, Username: c.Username}
}

// newDownstream builds the transport to a cluster from its credential
// Secret: dialed through the tunnel, verified against the cluster's CA. A
// pending change of the registration is verified first; once it is, the
// cluster's controllers are restarted with it when restart is set (they
// may run with the old one).
func (m *Manager) newDownstream(ctx context.Context, c *v1.Cluster, restart bool) (*downstream, error) {
	var secret corev1.Secret
	if err := m.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: credentialSecretName(c.Name)}, &secret); apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: cluster %s %w", authproxy.ErrUnavailable, c.Name, errNotRegistered)
	} else if err != nil {
		return nil, fmt.Errorf("%w: cluster %s: read its registration: %v", authproxy.ErrUnavailable, c.Name, err)
	}
	if string(secret.Data[credClusterUID]) != string(c.UID) {
		return nil, fmt.Errorf("%w: cluster %s: the stored registration is of an earlier cluster of that name", authproxy.ErrUnavailable, c.Name)
	}
	if _, ok := secret.Data[credPendingToken]; ok {
		changed, err := m.verifyPending(ctx, c, &secret)
		if err != nil {
			return nil, err
		}
		if changed && restart {
			go m.registrationChanged(c)
		}
	}
	conn, err := m.connection(c, string(secret.Data[credEndpoint]), secret.Data[credCA], string(secret.Data[credToken]))
	if err != nil {
		return nil, err
	}
	accounts := &impersonation.Accounts{Client: conn.kube, Now: m.now}
	as := &asUser{kube: conn.kube, accounts: accounts}
	return &downstream{
		target:   authproxy.Target{URL: conn.endpoint, Transport: conn.h2, UpgradeTransport: conn.h1, Impersonate: as.impersonate},
		accounts: accounts,
		rest:     conn.rest,
	}, nil
}

// errNotRegistered: no agent has registered the cluster yet. Its
// registration, or its agent's tunnel coming, starts its controllers.
var errNotRegistered = errors.New("has not registered")

// connection is how Herd reaches a cluster's kube-apiserver with one
// credential.
type connection struct {
	endpoint *url.URL
	h2, h1   *http.Transport
	kube     kubernetes.Interface
	rest     *rest.Config
}

// connection dials endpoint through the cluster's tunnel, trusting only ca.
func (m *Manager) connection(c *v1.Cluster, endpoint string, ca []byte, token string) (*connection, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster %s endpoint: %v", authproxy.ErrUnavailable, c.Name, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	transport := func(h2 bool) *http.Transport {
		return &http.Transport{
			DialContext:         m.dialer(sessionKey(c)),
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   h2,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	// HTTP/2 multiplexes requests over few tunnel streams; upgrades
	// (exec, attach, port-forward over SPDY or WebSocket) need HTTP/1.1.
	conn := &connection{endpoint: u, h2: transport(true), h1: transport(false)}
	conn.rest = &rest.Config{Host: u.String(), Transport: conn.h2, BearerToken: token, QPS: 50, Burst: 100}
	conn.kube, err = kubernetes.NewForConfig(rest.CopyConfig(conn.rest))
	return conn, err
}

// verifyPending checks a changed registration before Herd uses it: the
// new credential must authenticate, through the tunnel, at the new
// endpoint presenting a certificate of the cluster's pinned CA, which
// proves it is of the same cluster. Then it replaces the old one (logged,
// changed true). A credential that is refused, or an endpoint that shows
// another certificate, drops the change (logged) and the old one stays.
// When the new endpoint cannot be reached yet (the registering agent has
// not connected its tunnel, say), the change stays pending, the old
// credential is used meanwhile, and the check is repeated when a tunnel
// of the cluster comes.
func (m *Manager) verifyPending(ctx context.Context, c *v1.Cluster, secret *corev1.Secret) (changed bool, err error) {
	d := secret.Data
	endpoint, token := string(d[credPendingEndpoint]), string(d[credPendingToken])
	data := map[string][]byte{credEndpoint: d[credEndpoint], credCA: d[credCA], credToken: d[credToken], credClusterUID: d[credClusterUID]}
	who, err := m.reviewCredential(ctx, c, endpoint, d[credCA], token)
	switch {
	case err != nil && !refusesCredential(err):
		m.unverified.Store(c.Name, struct{}{})
		m.log.Info("cluster registration change not verified yet: the new endpoint cannot be reached; checked again when the cluster's tunnel comes",
			"cluster", c.Name, "endpoint", string(d[credEndpoint]), "newEndpoint", endpoint, "err", err)
		return false, nil
	case err != nil:
		m.log.Warn("cluster registration change refused: the new credential does not authenticate at the new endpoint with the cluster's CA",
			"cluster", c.Name, "endpoint", string(d[credEndpoint]), "newEndpoint", endpoint, "err", err)
	default:
		data[credEndpoint], data[credToken] = []byte(endpoint), []byte(token)
		m.audit.Info("cluster registration changed", "cluster", c.Name, "endpoint", string(d[credEndpoint]), "newEndpoint", endpoint,
			"credentialOf", who)
	}
	m.unverified.Delete(c.Name)
	if werr := m.reg.writeCredential(ctx, c, data); werr != nil {
		return false, werr
	}
	secret.Data = data
	if err == nil {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"apiEndpoint": endpoint}})
		if perr := m.client.Status().Patch(ctx, c.DeepCopy(), client.RawPatch(types.MergePatchType, patch)); perr != nil {
			m.log.Warn("failed to record the new endpoint", "cluster", c.Name, "err", perr)
		}
	}
	return err == nil, nil
}

// reviewCredential asks the kube-apiserver at endpoint, through the
// cluster's tunnel and trusting only ca, who token is.
func (m *Manager) reviewCredential(ctx context.Context, c *v1.Cluster, endpoint string, ca []byte, token string) (string, error) {
	conn, err := m.connection(c, endpoint, ca, token)
	if err != nil {
		return "", err
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	defer conn.h2.CloseIdleConnections()
	review, err := conn.kube.AuthenticationV1().SelfSubjectReviews().Create(vctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case err == nil:
		return review.Status.UserInfo.Username, nil
	case apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "system:anonymous"):
		// Authenticated, not (yet) authorized: a kube-apiserver that just
		// started may refuse before its RBAC cache is in; the question
		// here is only whether the credential authenticates (an anonymous
		// request is forbidden too: not that).
		return "(forbidden to review itself)", nil
	}
	return "", err
}

// refusesCredential reports whether err of a credential review is an
// answer against the change (the credential is refused, the endpoint is
// not of the cluster's CA, the URL is wrong) rather than no answer.
func refusesCredential(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) || errors.Is(err, authproxy.ErrUnavailable) ||
		errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// Kube is a client of a connected cluster, not being deleted, with its
// agent's credential.
func (m *Manager) Kube(ctx context.Context, cluster string) (kubernetes.Interface, error) {
	var c v1.Cluster
	if err := m.cache.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil || !c.DeletionTimestamp.IsZero() || !m.Reachable(&c) {
		return nil, fmt.Errorf("cluster %s has no agent connected", cluster)
	}
	d, err := m.DownstreamFor(ctx, &c)
	if err != nil {
		return nil, err
	}
	return d.accounts.Client, nil
}

// Target is how the proxy reaches a connected cluster for caller: with a
// token of the account that may impersonate only the caller. It wraps
// authproxy.ErrUnavailable when the cluster cannot be reached.
func (m *Manager) Target(ctx context.Context, c *v1.Cluster, caller authproxy.Caller) (*authproxy.Target, error) {
	if !m.Reachable(c) {
		return nil, fmt.Errorf("%w: cluster %s has no agent connected", authproxy.ErrUnavailable, c.Name)
	}
	d, err := m.DownstreamFor(ctx, c)
	if err != nil {
		return nil, err
	}
	token, err := d.accounts.Token(ctx, subjectOf(caller))
	if err != nil {
		return nil, fmt.Errorf("%w: no impersonation account for %s in %s: %v", authproxy.ErrUnavailable, caller.UserID, c.Name, err)
	}
	t := d.target
	t.Credential = token
	return &t, nil
}
