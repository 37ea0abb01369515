package api

import (
	"net/http"

	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/herdapi"
)

// handleNodeRegister registers a machine for the node agent that holds
// the cluster's registration token.
func (a *API) handleNodeRegister(w http.ResponseWriter, r *http.Request) {
	var req herdapi.NodeRegistration
	if !a.decode(w, r, &req) {
		return
	}
	token, _ := authproxy.BearerToken(r)
	out, err := a.machines.Register(r.Context(), token, req)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	setActorName(r, "node agent of machine "+out.MachineName)
	a.audit.Info("machine registered", "cluster", out.ClusterName, "machine", out.MachineName, "hostname", req.Hostname,
		"roles", req.Roles, "source", sourceAddr(r))
	writeJSON(w, http.StatusCreated, out)
}

// handleNodePlan answers a node agent with its machine's plan; 204 when
// it has none yet.
func (a *API) handleNodePlan(w http.ResponseWriter, r *http.Request) {
	token, _ := authproxy.BearerToken(r)
	plan, err := a.machines.Plan(r.Context(), token)
	switch {
	case err != nil:
		a.respond(w, r, err)
	case plan == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, plan)
	}
}

// handleNodePlanStatus records what a node agent reports of its plan.
func (a *API) handleNodePlanStatus(w http.ResponseWriter, r *http.Request) {
	var st herdapi.NodePlanStatus
	if !a.decode(w, r, &st) {
		return
	}
	token, _ := authproxy.BearerToken(r)
	if err := a.machines.ReportStatus(r.Context(), token, st); err != nil {
		a.respond(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
