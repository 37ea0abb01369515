package clusters

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/wellknown"
)

// Keys of a cluster's credential Secret (herd-system/cluster-<name>). The
// pending keys hold a changed registration until Herd has verified it.
const (
	credEndpoint        = "endpoint"
	credCA              = "ca.crt"
	credToken           = "token"
	credClusterUID      = "clusterUID"
	credPendingEndpoint = "pendingEndpoint"
	credPendingToken    = "pendingToken"
)

func credentialSecretName(cluster string) string { return "cluster-" + cluster }

// agentBearer verifies the agent token a tunnel connects with and returns
// its cluster. Registration tokens only register.
func (rs *Registrar) agentBearer(r *http.Request) (*v1.Cluster, error) {
	token, ok := authproxy.BearerToken(r)
	if !ok {
		return nil, errors.New("no bearer token")
	}
	if !strings.HasPrefix(token, agentTokenPrefix) {
		return nil, errors.New("the tunnel takes an agent token: register first")
	}
	return rs.verifyAgentToken(r.Context(), token, "")
}

// registrationChanged makes this replica reach the cluster anew, so that a
// pending change of its registration is verified (by newDownstream) now
// rather than at the next reconnection.
func (m *Manager) registrationChanged(c *v1.Cluster) {
	m.targets.Delete(sessionKey(c))
	m.runtimes.mu.Lock()
	if r, ok := m.runtimes.running[c.Name]; ok {
		r.stop(m, c.Name)
		delete(m.runtimes.running, c.Name)
	}
	delete(m.runtimes.failed, c.Name) // a new registration: try at once
	m.runtimes.mu.Unlock()
	m.syncRuntime(m.cfg.Context, c.Name)
}

// registrant verifies the bearer of a registration: a registration token
// (agentToken is then "") or an agent token (returned as is).
func (rs *Registrar) registrant(ctx context.Context, token string) (cluster *v1.Cluster, agentToken string, via client.Object, err error) {
	if strings.HasPrefix(token, agentTokenPrefix) {
		c, err := rs.verifyAgentToken(ctx, token, "")
		name, _, _ := strings.Cut(token, ":")
		return c, token, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}, err
	}
	crt, c, err := rs.VerifyRegistrationToken(ctx, token)
	return c, "", crt, err
}

// ErrOtherCluster: a registration with another kube-apiserver CA.
var ErrOtherCluster = errors.New("clusters: registration of another cluster")

func checkRegistration(reg *herdapi.AgentRegistration) string {
	u, err := url.Parse(reg.APIEndpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(reg.APIEndpoint) > 2048 {
		return "apiEndpoint must be an https URL"
	}
	if len(reg.CACert) > 64<<10 || !x509.NewCertPool().AppendCertsFromPEM([]byte(reg.CACert)) {
		return "caCert must be a PEM CA bundle of at most 64 KiB"
	}
	if reg.Token == "" || len(reg.Token) > 16<<10 || strings.ContainsAny(reg.Token, " \r\n\t") {
		return "token must be a bearer token of at most 16 KiB"
	}
	return ""
}

// storeRegistration records a registration. The first one of a cluster
// (of this UID) is stored as it is. Later ones must name the same
// kube-apiserver CA (ErrOtherCluster otherwise); a changed endpoint or
// credential is kept pending until Herd has verified, through the tunnel
// and against that CA, that the new credential authenticates there
// (verifyPending). It reports whether a change is pending.
func (rs *Registrar) storeRegistration(ctx context.Context, cluster *v1.Cluster, reg *herdapi.AgentRegistration) (bool, error) {
	var existing corev1.Secret
	err := rs.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: credentialSecretName(cluster.Name)}, &existing)
	if client.IgnoreNotFound(err) != nil {
		return false, err
	}
	first := apierrors.IsNotFound(err) || string(existing.Data[credClusterUID]) != string(cluster.UID)
	data := map[string][]byte{credEndpoint: []byte(reg.APIEndpoint), credCA: []byte(reg.CACert), credToken: []byte(reg.Token),
		credClusterUID: []byte(cluster.UID)}
	pending := false
	if !first {
		if string(existing.Data[credCA]) != reg.CACert {
			return false, fmt.Errorf("%w: cluster %s: a registration with a different apiserver CA (endpoint %s)", ErrOtherCluster, cluster.Name, reg.APIEndpoint)
		}
		if string(existing.Data[credEndpoint]) == reg.APIEndpoint && string(existing.Data[credToken]) == reg.Token {
			return false, nil
		}
		data = map[string][]byte{credEndpoint: existing.Data[credEndpoint], credCA: existing.Data[credCA], credToken: existing.Data[credToken],
			credClusterUID: []byte(cluster.UID), credPendingEndpoint: []byte(reg.APIEndpoint), credPendingToken: []byte(reg.Token)}
		pending = true
		rs.log.Warn("cluster registration changed: the new endpoint or credential is used once verified through the tunnel",
			"cluster", cluster.Name, "endpoint", string(existing.Data[credEndpoint]), "newEndpoint", reg.APIEndpoint,
			"credentialChanged", string(existing.Data[credToken]) != reg.Token)
	}
	if err := rs.writeCredential(ctx, cluster, data); err != nil {
		return false, err
	}
	if first {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"apiEndpoint": reg.APIEndpoint, "caCert": reg.CACert}})
		if err := rs.client.Status().Patch(ctx, cluster, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return false, fmt.Errorf("failed to record the endpoint of cluster %s: %w", cluster.Name, err)
		}
	}
	return pending, nil
}

// writeCredential replaces a cluster's credential Secret with data.
func (rs *Registrar) writeCredential(ctx context.Context, cluster *v1.Cluster, data map[string][]byte) error {
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: credentialSecretName(cluster.Name), Namespace: wellknown.Namespace,
			Labels: map[string]string{wellknown.ClusterLabel: cluster.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID,
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := rs.client.Patch(ctx, secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to store the credential of cluster %s: %w", cluster.Name, err)
	}
	return nil
}

// Errors of Register.
var (
	// ErrUnauthorized: the bearer is no live registration or agent token.
	ErrUnauthorized = errors.New("clusters: not a live registration or agent token")
	// ErrInvalid wraps what is wrong with a registration (safe to show).
	ErrInvalid = errors.New("clusters: invalid registration")
	// ErrDeleting: the cluster is being deleted.
	ErrDeleting = errors.New("clusters: cluster being deleted")
)

// Registration is the outcome of Register.
type Registration struct {
	Cluster    *v1.Cluster
	AgentToken string
	// With names the registration or agent token used; ChangePending says
	// that a changed endpoint or credential waits for verification.
	With          string
	ChangePending bool
	// NodeToken is the node agents' token, when the agent asked for one.
	NodeToken string
}

// Register records an agent's registration, authenticated by bearer (a
// registration token, which gets a new agent token, or an agent token,
// kept). It returns ErrUnauthorized, ErrInvalid, ErrDeleting,
// ErrOtherCluster or ErrTooManyRegistrations, or a Registration.
func (rs *Registrar) Register(ctx context.Context, bearer string, reg *herdapi.AgentRegistration) (*Registration, error) {
	cluster, agentToken, via, err := rs.registrant(ctx, bearer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	out := &Registration{Cluster: cluster, AgentToken: agentToken, With: via.GetName()}
	if msg := checkRegistration(reg); msg != "" {
		return out, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	if !cluster.DeletionTimestamp.IsZero() {
		if agentToken == "" {
			return out, fmt.Errorf("%w: %s", ErrDeleting, cluster.Name)
		}
		// A restarted agent of a cluster being deleted may connect (so
		// that Herd can clean up through it) but changes nothing.
		return out, nil
	}
	if out.ChangePending, err = rs.storeRegistration(ctx, cluster, reg); err != nil {
		return out, err
	}
	if out.ChangePending {
		go rs.onChange(cluster)
	}
	if agentToken == "" {
		if out.AgentToken, err = rs.issueAgentToken(ctx, cluster, via.(*v1.ClusterRegistrationToken)); err != nil {
			return out, err
		}
	}
	if reg.NodeToken {
		if out.NodeToken, err = rs.issueNodeToken(ctx, cluster); err != nil {
			return out, err
		}
	}
	return out, nil
}
