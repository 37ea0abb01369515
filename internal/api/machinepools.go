package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// Limits of machine pools, as the Cluster CRD has them.
const (
	maxPools        = 16
	maxPoolQuantity = 50
	maxPoolName     = 20
)

// checkPool says what is wrong with a pool, or "".
func checkPool(p herdapi.MachinePool) string {
	if errs := validation.IsDNS1123Label(p.Name); len(errs) > 0 || len(p.Name) > maxPoolName {
		return fmt.Sprintf("machine pool name %.40q must be a DNS label of at most %d characters", p.Name, maxPoolName)
	}
	if p.Quantity < 0 || p.Quantity > maxPoolQuantity {
		return fmt.Sprintf("machine pool %s: quantity %d must be between 0 and %d", p.Name, p.Quantity, maxPoolQuantity)
	}
	if len(p.Roles) == 0 || len(p.Roles) > 3 {
		return fmt.Sprintf("machine pool %s needs roles: etcd, control-plane and/or worker", p.Name)
	}
	for i, role := range p.Roles {
		if !slices.Contains([]string{v1.RoleEtcd, v1.RoleControlPlane, v1.RoleWorker}, role) || slices.Contains(p.Roles[:i], role) {
			return fmt.Sprintf("machine pool %s: role %.32q is not one of etcd, control-plane, worker (each once)", p.Name, role)
		}
	}
	if p.Driver != "" && p.Driver != v1.DriverLocal {
		return fmt.Sprintf("machine pool %s: driver %.32q is unknown; the one there is: local", p.Name, p.Driver)
	}
	return ""
}

// checkPools checks the pools of a new cluster.
func checkPools(pools []herdapi.MachinePool, version string) string {
	if len(pools) == 0 {
		return ""
	}
	if version == "" {
		return "machine pools are for provisioned clusters: give a Kubernetes version (--provision) too"
	}
	if len(pools) > maxPools {
		return fmt.Sprintf("at most %d machine pools", maxPools)
	}
	for i, p := range pools {
		if msg := checkPool(p); msg != "" {
			return msg
		}
		if slices.ContainsFunc(pools[:i], func(o herdapi.MachinePool) bool { return o.Name == p.Name }) {
			return "machine pool " + p.Name + " is listed twice"
		}
	}
	return ""
}

func specPool(p herdapi.MachinePool) v1.MachinePool {
	return v1.MachinePool{Name: p.Name, Quantity: p.Quantity, Roles: slices.Clone(p.Roles), Driver: v1.DriverLocal}
}

func apiPools(c *v1.Cluster) []herdapi.MachinePool {
	if c.Spec.Provisioning == nil {
		return nil
	}
	var out []herdapi.MachinePool
	for _, p := range c.Spec.Provisioning.MachinePools {
		out = append(out, herdapi.MachinePool{Name: p.Name, Quantity: p.Quantity, Roles: p.Roles, Driver: p.Driver})
	}
	return out
}

// setPool returns pools with req's quantity set on its pool, or req
// added as a new pool (it needs roles then); or what is wrong.
func setPool(pools []v1.MachinePool, req herdapi.MachinePool) ([]v1.MachinePool, string) {
	pools = slices.Clone(pools)
	i := slices.IndexFunc(pools, func(p v1.MachinePool) bool { return p.Name == req.Name })
	if i < 0 {
		if msg := checkPool(req); msg != "" {
			return nil, msg
		}
		if len(pools) >= maxPools {
			return nil, fmt.Sprintf("at most %d machine pools", maxPools)
		}
		return append(pools, specPool(req)), ""
	}
	if len(req.Roles) > 0 && !slices.Equal(req.Roles, pools[i].Roles) {
		return nil, fmt.Sprintf("machine pool %s has roles %s; roles of a pool do not change: add another pool", req.Name, strings.Join(pools[i].Roles, ","))
	}
	req.Roles = pools[i].Roles
	if msg := checkPool(req); msg != "" {
		return nil, msg
	}
	pools[i].Quantity = req.Quantity
	return pools, ""
}

// handlePutMachinePool adds a machine pool to a provisioned cluster, or
// sets an existing pool's quantity (its roles stay what they are).
func (a clustersAPI) handlePutMachinePool(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.MachinePool
	if !a.decode(w, r, &req) {
		return
	}
	c, ok := a.adminCluster(w, r, id, "change the machine pools")
	if !ok {
		return
	}
	if req.Name == "" {
		req.Name = r.PathValue("pool")
	}
	if req.Name != r.PathValue("pool") {
		a.invalid(w, r, "the pool's name in the body and in the path differ")
		return
	}
	if c.Spec.Provisioning == nil {
		a.invalid(w, r, "cluster "+c.Name+" is imported, not provisioned: it has no machine pools")
		return
	}
	c, conflict, err := a.updateSpec(r.Context(), c.Name, func(cur *v1.Cluster) string {
		pools, msg := setPool(cur.Spec.Provisioning.MachinePools, req)
		cur.Spec.Provisioning.MachinePools = pools
		return msg
	})
	if conflict != "" {
		a.invalid(w, r, conflict)
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("machine pool set", "actor", id.UserName, "cluster", c.Name, "pool", req.Name, "quantity", req.Quantity, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, apiCluster(c))
}

// hostedSpec checks and completes a hosted cluster's request; it says
// what is wrong, or "".
func hostedSpec(h *herdapi.HostedCluster, versions []string, provisioned bool) (*v1.ClusterHosted, string) {
	if h == nil {
		return nil, ""
	}
	if provisioned {
		return nil, "a cluster is either provisioned (--provision, machines) or hosted (--hosted), not both"
	}
	if h.Provider != v1.HostedLocal {
		return nil, fmt.Sprintf("hosted provider %.32q is unknown; the one there is: local", h.Provider)
	}
	out := &v1.ClusterHosted{Provider: h.Provider, KubernetesVersion: h.KubernetesVersion, Nodes: max(h.Nodes, 1), RealNodes: max(h.RealNodes, 1)}
	if out.KubernetesVersion == "" && len(versions) > 0 {
		out.KubernetesVersion = versions[len(versions)-1]
	}
	switch {
	case !slices.Contains(versions, out.KubernetesVersion):
		return nil, fmt.Sprintf("Kubernetes %.32q cannot be hosted; supported: %s", out.KubernetesVersion, strings.Join(versions, ", "))
	case out.Nodes > 100 || h.Nodes < 0:
		return nil, "hosted nodes must be between 1 and 100"
	case out.RealNodes > 8 || h.RealNodes < 0:
		return nil, "hosted real nodes (which run Herd's agents) must be between 1 and 8"
	}
	return out, ""
}

func apiSchedule(c *v1.Cluster) *herdapi.EtcdSnapshotSchedule {
	if c.Spec.Provisioning == nil || c.Spec.Provisioning.EtcdSnapshots == nil {
		return nil
	}
	s := c.Spec.Provisioning.EtcdSnapshots
	return &herdapi.EtcdSnapshotSchedule{Interval: s.Interval.Duration.String(), Retention: s.Retention}
}

func apiHosted(c *v1.Cluster) *herdapi.HostedCluster {
	if h := c.Spec.Hosted; h != nil {
		return &herdapi.HostedCluster{Provider: h.Provider, KubernetesVersion: h.KubernetesVersion, Nodes: h.Nodes, RealNodes: h.RealNodes}
	}
	return nil
}
