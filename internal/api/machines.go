package api

import (
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/wellknown"
)

// handleNodeRegister registers a machine for the node agent that holds
// the cluster's registration token.
func (a *API) handleNodeRegister(w http.ResponseWriter, r *http.Request) {
	var req herdapi.NodeRegistration
	if !a.decode(w, r, &req) {
		return
	}
	done, ok := a.attemptRegistration(w, r)
	if !ok {
		return
	}
	token, _ := authproxy.BearerToken(r)
	out, err := a.machines.Register(r.Context(), token, req)
	done(err == nil)
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

// handleListMachines lists a cluster's machines, for its administrators.
func (a clustersAPI) handleListMachines(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.visibleCluster(w, r, id)
	if !ok {
		return
	}
	if !a.authz.IsClusterAdmin(r.Context(), id, c.Name) {
		a.forbidden(w, r, id, "see the machines of cluster "+c.Name)
		return
	}
	var list v1.MachineList
	if err := a.cache.List(r.Context(), &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.MachineList{Items: []herdapi.Machine{}}
	for _, m := range list.Items {
		if m.Spec.ClusterName != c.Name || !ownedByUID(m.OwnerReferences, string(c.UID)) {
			continue
		}
		am := herdapi.Machine{Name: m.Name, ClusterName: m.Spec.ClusterName, Hostname: m.Spec.Hostname, Address: m.Spec.Address,
			Roles: m.Spec.Roles, PlanState: m.Status.State, PlanRevision: m.Status.PlanRevision, AppliedRevision: m.Status.AppliedRevision,
			Failures: m.Status.Failures, FailedInstruction: m.Status.FailedInstruction, Output: m.Status.Output, Probes: m.Status.Probes,
			CreatedAt: m.CreationTimestamp.Time}
		if m.Status.LastContact != nil {
			t := m.Status.LastContact.Time
			am.LastContact = &t
		}
		out.Items = append(out.Items, am)
	}
	slices.SortFunc(out.Items, func(x, y herdapi.Machine) int { return strings.Compare(x.Hostname, y.Hostname) })
	writeJSON(w, http.StatusOK, out)
}

// ownedByUID reports whether refs name the owner of uid.
func ownedByUID(refs []metav1.OwnerReference, uid string) bool {
	for _, o := range refs {
		if string(o.UID) == uid {
			return true
		}
	}
	return false
}
