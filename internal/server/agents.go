package server

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

// bearer is the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("no bearer token")
	}
	return strings.TrimSpace(token), nil
}

// agentBearer verifies the agent token a tunnel connects with and returns
// its cluster. Registration tokens only register.
func (s *Server) agentBearer(r *http.Request) (*v1.Cluster, error) {
	token, err := bearer(r)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(token, agentTokenPrefix) {
		return nil, errors.New("the tunnel takes an agent token: register first")
	}
	return s.verifyAgentToken(r.Context(), token)
}

// handleAgentRegister stores how to reach a cluster's kube-apiserver: the
// endpoint and CA in the Cluster status, the credential in a Secret. A
// registration token gets a new agent token; an agent token registers
// again (after a restart) and keeps its token.
func (s *Server) handleAgentRegister(w http.ResponseWriter, r *http.Request) {
	cluster, agentToken, via, err := s.registrant(r)
	if err != nil {
		s.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", err)
		return
	}
	setActorName(r, "agent of cluster "+cluster.Name)
	var reg herdapi.AgentRegistration
	if !s.decode(w, r, &reg) {
		return
	}
	if msg := checkRegistration(&reg); msg != "" {
		s.invalid(w, r, msg)
		return
	}
	if !cluster.DeletionTimestamp.IsZero() {
		if agentToken == "" {
			s.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, "cluster "+cluster.Name+" is being deleted", nil)
			return
		}
		// A restarted agent of a cluster being deleted may connect (so
		// that Herd can clean up through it) but changes nothing.
		writeJSON(w, http.StatusOK, herdapi.AgentRegistrationResponse{ClusterName: cluster.Name, AgentToken: agentToken})
		return
	}
	changed, err := s.storeRegistration(r.Context(), cluster, &reg)
	if errors.Is(err, errOtherCluster) {
		s.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict,
			"this cluster is registered with another kube-apiserver CA: delete it in Herd and import it again to move it", err)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if changed {
		go s.registrationChanged(cluster)
	}
	if agentToken == "" {
		crt := via.(*v1.ClusterRegistrationToken)
		agentToken, err = s.issueAgentToken(r.Context(), cluster, crt)
		if errors.Is(err, errTooManyRegistrations) {
			s.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
				"this import command registered too many agents; reissue it with `herdctl clusters import-command`", err)
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
	}
	s.audit.Info("agent registered", "cluster", cluster.Name, "apiEndpoint", reg.APIEndpoint, "changePending", changed,
		"with", via.GetName(), "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, herdapi.AgentRegistrationResponse{ClusterName: cluster.Name, AgentToken: agentToken})
}

// registrationChanged makes this replica reach the cluster anew, so that a
// pending change of its registration is verified (by newDownstream) now
// rather than at the next reconnection.
func (s *Server) registrationChanged(c *v1.Cluster) {
	s.targets.Delete(sessionKey(c))
	s.runtimes.mu.Lock()
	if r, ok := s.runtimes.running[c.Name]; ok {
		r.cancel()
		delete(s.runtimes.running, c.Name)
	}
	s.runtimes.mu.Unlock()
	s.syncRuntime(s.baseCtx, c.Name)
}

// registrant verifies the bearer of a registration: a registration token
// (agentToken is then "") or an agent token (returned as is).
func (s *Server) registrant(r *http.Request) (cluster *v1.Cluster, agentToken string, via client.Object, err error) {
	token, err := bearer(r)
	if err != nil {
		return nil, "", nil, err
	}
	if strings.HasPrefix(token, agentTokenPrefix) {
		c, err := s.verifyAgentToken(r.Context(), token)
		name, _, _ := strings.Cut(token, ":")
		return c, token, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}, err
	}
	crt, c, err := s.verifyRegistrationToken(r.Context(), token)
	return c, "", crt, err
}

// errOtherCluster: a registration with another kube-apiserver CA.
var errOtherCluster = errors.New("server: registration of another cluster")

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
// kube-apiserver CA (errOtherCluster otherwise); a changed endpoint or
// credential is kept pending until Herd has verified, through the tunnel
// and against that CA, that the new credential authenticates there
// (verifyPending). It reports whether a change is pending.
func (s *Server) storeRegistration(ctx context.Context, cluster *v1.Cluster, reg *herdapi.AgentRegistration) (bool, error) {
	var existing corev1.Secret
	err := s.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: credentialSecretName(cluster.Name)}, &existing)
	if client.IgnoreNotFound(err) != nil {
		return false, err
	}
	first := apierrors.IsNotFound(err) || string(existing.Data[credClusterUID]) != string(cluster.UID)
	data := map[string][]byte{credEndpoint: []byte(reg.APIEndpoint), credCA: []byte(reg.CACert), credToken: []byte(reg.Token),
		credClusterUID: []byte(cluster.UID)}
	pending := false
	if !first {
		if string(existing.Data[credCA]) != reg.CACert {
			return false, fmt.Errorf("%w: cluster %s: a registration with a different apiserver CA (endpoint %s)", errOtherCluster, cluster.Name, reg.APIEndpoint)
		}
		if string(existing.Data[credEndpoint]) == reg.APIEndpoint && string(existing.Data[credToken]) == reg.Token {
			return false, nil
		}
		data = map[string][]byte{credEndpoint: existing.Data[credEndpoint], credCA: existing.Data[credCA], credToken: existing.Data[credToken],
			credClusterUID: []byte(cluster.UID), credPendingEndpoint: []byte(reg.APIEndpoint), credPendingToken: []byte(reg.Token)}
		pending = true
		s.cfg.Logger.Warn("cluster registration changed: the new endpoint or credential is used once verified through the tunnel",
			"cluster", cluster.Name, "endpoint", string(existing.Data[credEndpoint]), "newEndpoint", reg.APIEndpoint,
			"credentialChanged", string(existing.Data[credToken]) != reg.Token)
	}
	if err := s.writeCredential(ctx, cluster, data); err != nil {
		return false, err
	}
	if first {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"apiEndpoint": reg.APIEndpoint, "caCert": reg.CACert}})
		if err := s.client.Status().Patch(ctx, cluster, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return false, fmt.Errorf("failed to record the endpoint of cluster %s: %w", cluster.Name, err)
		}
	}
	return pending, nil
}

// writeCredential replaces a cluster's credential Secret with data.
func (s *Server) writeCredential(ctx context.Context, cluster *v1.Cluster, data map[string][]byte) error {
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
	if err := s.client.Patch(ctx, secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to store the credential of cluster %s: %w", cluster.Name, err)
	}
	return nil
}
