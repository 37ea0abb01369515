package api

import (
	"net/http"

	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/herdapi"
)

// handleAgentRegister stores how to reach a cluster's kube-apiserver: the
// endpoint and CA in the Cluster status, the credential in a Secret. A
// registration token gets a new agent token; an agent token registers
// again (after a restart) and keeps its token.
func (a clustersAPI) handleAgentRegister(w http.ResponseWriter, r *http.Request) {
	var reg herdapi.AgentRegistration
	if !a.decode(w, r, &reg) {
		return
	}
	done, ok := a.attemptRegistration(w, r)
	if !ok {
		return
	}
	token, _ := authproxy.BearerToken(r)
	out, err := a.reg.Register(r.Context(), token, &reg)
	done(err == nil)
	if out != nil {
		setActorName(r, "agent of cluster "+out.Cluster.Name)
	}
	switch {
	case err != nil:
		a.respond(w, r, err)
	default:
		a.audit.Info("agent registered", "cluster", out.Cluster.Name, "apiEndpoint", reg.APIEndpoint, "changePending", out.ChangePending,
			"with", out.With, "source", sourceAddr(r))
		writeJSON(w, http.StatusOK, herdapi.AgentRegistrationResponse{ClusterName: out.Cluster.Name, AgentToken: out.AgentToken, NodeToken: out.NodeToken})
	}
}
