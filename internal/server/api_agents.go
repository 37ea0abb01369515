package server

import (
	"errors"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/herdapi"
)

// handleAgentRegister stores how to reach a cluster's kube-apiserver: the
// endpoint and CA in the Cluster status, the credential in a Secret. A
// registration token gets a new agent token; an agent token registers
// again (after a restart) and keeps its token.
func (s *Server) handleAgentRegister(w http.ResponseWriter, r *http.Request) {
	var reg herdapi.AgentRegistration
	if !s.decode(w, r, &reg) {
		return
	}
	token, _ := authproxy.BearerToken(r)
	out, err := s.clusters.Register(r.Context(), token, &reg)
	if out != nil {
		setActorName(r, "agent of cluster "+out.Cluster.Name)
	}
	switch {
	case errors.Is(err, clusters.ErrUnauthorized):
		s.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", err)
	case errors.Is(err, clusters.ErrInvalid):
		s.invalid(w, r, strings.TrimPrefix(err.Error(), clusters.ErrInvalid.Error()+": "))
	case errors.Is(err, clusters.ErrDeleting):
		s.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, "cluster "+out.Cluster.Name+" is being deleted", nil)
	case errors.Is(err, clusters.ErrOtherCluster):
		s.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict,
			"this cluster is registered with another kube-apiserver CA: delete it in Herd and import it again to move it", err)
	case errors.Is(err, clusters.ErrTooManyRegistrations):
		s.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
			"this import command registered too many agents; reissue it with `herdctl clusters import-command`", err)
	case err != nil:
		s.internal(w, r, err)
	default:
		s.audit.Info("agent registered", "cluster", out.Cluster.Name, "apiEndpoint", reg.APIEndpoint, "changePending", out.ChangePending,
			"with", out.With, "source", sourceAddr(r))
		writeJSON(w, http.StatusOK, herdapi.AgentRegistrationResponse{ClusterName: out.Cluster.Name, AgentToken: out.AgentToken})
	}
}
