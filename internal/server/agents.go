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
)

// Keys of a cluster's credential Secret (herd-system/cluster-<name>).
const (
	credEndpoint = "endpoint"
	credCA       = "ca.crt"
	credToken    = "token"
)

func credentialSecretName(cluster string) string { return "cluster-" + cluster }

// registrationBearer verifies the registration token or agent token an
// agent sends as bearer and returns its cluster.
func (s *Server) registrationBearer(r *http.Request) (*v1.Cluster, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errors.New("no bearer registration token")
	}
	token = strings.TrimSpace(token)
	if strings.HasPrefix(token, agentTokenPrefix) {
		return s.verifyAgentToken(r.Context(), token)
	}
	_, cluster, err := s.verifyRegistrationToken(r.Context(), token)
	return cluster, err
}

// handleAgentRegister stores how to reach a cluster's kube-apiserver: the
// endpoint and CA in the Cluster status, the credential in a Secret.
func (s *Server) handleAgentRegister(w http.ResponseWriter, r *http.Request) {
	cluster, err := s.registrationBearer(r)
	if err != nil {
		s.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", err)
		return
	}
	var reg herdapi.AgentRegistration
	if !s.decode(w, r, &reg) {
		return
	}
	if msg := checkRegistration(&reg); msg != "" {
		s.invalid(w, r, msg)
		return
	}
	if err := s.sameCluster(r.Context(), cluster.Name, &reg); err != nil {
		s.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict,
			"this cluster is registered with another kube-apiserver CA: delete it in Herd and import it again to move it", err)
		return
	}
	if err := s.storeRegistration(r.Context(), cluster, &reg); err != nil {
		s.internal(w, r, err)
		return
	}
	s.targets.Delete(cluster.Name)
	s.cfg.Logger.Info("agent registered", "cluster", cluster.Name, "apiEndpoint", reg.APIEndpoint, "from", sourceAddr(r))
	writeJSON(w, http.StatusOK, herdapi.AgentRegistrationResponse{ClusterName: cluster.Name, AgentToken: s.agentToken(cluster)})
}

// sameCluster refuses a registration whose apiserver CA differs from the
// one the cluster first registered with: a registration token replayed
// from another cluster must not take over this one's tunnel.
func (s *Server) sameCluster(ctx context.Context, cluster string, reg *herdapi.AgentRegistration) error {
	var existing corev1.Secret
	err := s.api.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: credentialSecretName(cluster)}, &existing)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(existing.Data[credCA]) != reg.CACert {
		return fmt.Errorf("cluster %s: a registration with a different apiserver CA (endpoint %s)", cluster, reg.APIEndpoint)
	}
	return nil
}

func checkRegistration(reg *herdapi.AgentRegistration) string {
	u, err := url.Parse(reg.APIEndpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "apiEndpoint must be an https URL"
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(reg.CACert)) {
		return "caCert must be a PEM CA bundle"
	}
	if reg.Token == "" || len(reg.Token) > 16<<10 || strings.ContainsAny(reg.Token, " \r\n") {
		return "token must be a bearer token of at most 16 KiB"
	}
	return ""
}

func (s *Server) storeRegistration(ctx context.Context, cluster *v1.Cluster, reg *herdapi.AgentRegistration) error {
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: credentialSecretName(cluster.Name), Namespace: Namespace,
			Labels: map[string]string{ClusterLabel: cluster.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: cluster.Name, UID: cluster.UID,
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{credEndpoint: []byte(reg.APIEndpoint), credCA: []byte(reg.CACert), credToken: []byte(reg.Token)},
	}
	//nolint:staticcheck // server-side apply of a typed object
	if err := s.client.Patch(ctx, secret, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to store the credential of cluster %s: %w", cluster.Name, err)
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"apiEndpoint": reg.APIEndpoint, "caCert": reg.CACert}})
	if err := s.client.Status().Patch(ctx, cluster, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to record the endpoint of cluster %s: %w", cluster.Name, err)
	}
	return nil
}
