package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/kubeversion"
)

// unsupportedVersion says why version cannot be provisioned ("" if it
// can).
func (a clustersAPI) unsupportedVersion(version string) string {
	if slices.Contains(a.cfg.KubernetesVersions, version) {
		return ""
	}
	return fmt.Sprintf("Kubernetes %.32q cannot be provisioned; supported: %s", version, strings.Join(a.cfg.KubernetesVersions, ", "))
}

// maxWorkerConcurrency bounds how many workers an upgrade drains at once.
const maxWorkerConcurrency = 50

// handleUpgrade changes a provisioned cluster's Kubernetes version (and
// its worker concurrency); the planner rolls it out. Downgrades, skipped
// minors and versions Herd does not have are refused, the cluster left as
// it was.
func (a clustersAPI) handleUpgrade(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ClusterUpgrade
	if !a.decode(w, r, &req) {
		return
	}
	c, ok := a.adminCluster(w, r, id, "upgrade")
	if !ok {
		return
	}
	switch {
	case c.Spec.Provisioning == nil:
		a.invalid(w, r, "cluster "+c.Name+" is not provisioned by Herd: upgrade it where it was made")
		return
	case a.unsupportedVersion(req.KubernetesVersion) != "":
		a.invalid(w, r, a.unsupportedVersion(req.KubernetesVersion))
		return
	case req.WorkerConcurrency < 0 || req.WorkerConcurrency > maxWorkerConcurrency:
		a.invalid(w, r, fmt.Sprintf("workerConcurrency must be between 1 and %d (0 keeps it)", maxWorkerConcurrency))
		return
	}
	from := c.Spec.Provisioning.KubernetesVersion
	c, refused, err := a.updateSpec(r.Context(), c.Name, func(cur *v1.Cluster) string {
		if msg := kubeversion.CheckChange(cur.Spec.Provisioning.KubernetesVersion, req.KubernetesVersion); msg != "" {
			return msg
		}
		if msg := a.busyWithRestore(r, cur); msg != "" {
			return msg
		}
		cur.Spec.Provisioning.KubernetesVersion = req.KubernetesVersion
		if req.WorkerConcurrency > 0 {
			cur.Spec.Provisioning.UpgradeStrategy = &v1.UpgradeStrategy{WorkerConcurrency: req.WorkerConcurrency}
		}
		return ""
	})
	if refused != "" {
		a.invalid(w, r, refused)
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("cluster upgrade", "actor", id.UserName, "cluster", c.Name, "from", from, "to", req.KubernetesVersion, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, apiCluster(c))
}
