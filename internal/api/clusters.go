package api

import (
	"fmt"

	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/wellknown"
)

func (a clustersAPI) handleListClusters(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var list v1.ClusterList
	if err := a.cache.List(r.Context(), &list); err != nil {
		a.internal(w, r, err)
		return
	}
	all := a.authz.Allowed(r.Context(), id, "list", "clusters")
	out := herdapi.ClusterList{Items: []herdapi.Cluster{}}
	for i := range list.Items {
		if all || a.authz.Member(r.Context(), id, list.Items[i].Name) {
			out.Items = append(out.Items, apiCluster(&list.Items[i]))
		}
	}
	slices.SortFunc(out.Items, func(a, b herdapi.Cluster) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

func (a clustersAPI) handleCreateCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ClusterCreateRequest
	if !a.decode(w, r, &req) {
		return
	}
	switch errs := validation.NameIsDNSLabel(req.Name, false); {
	case len(errs) > 0:
		a.invalid(w, r, "cluster name "+strings.Join(errs, "; "))
		return
	case req.Name == wellknown.LocalCluster:
		a.invalid(w, r, "cluster name local is the management cluster's; choose another")
		return
	case len(req.DisplayName) > 253 || len(req.Description) > 1024:
		a.invalid(w, r, "displayName is limited to 253 bytes and description to 1024")
		return
	case req.KubernetesVersion != "" && a.unsupportedVersion(req.KubernetesVersion) != "":
		a.invalid(w, r, a.unsupportedVersion(req.KubernetesVersion))
		return
	case checkPools(req.MachinePools, req.KubernetesVersion) != "":
		a.invalid(w, r, checkPools(req.MachinePools, req.KubernetesVersion))
		return
	}
	hostedVersions := a.cfg.HostedKubernetesVersions
	if len(hostedVersions) == 0 {
		hostedVersions = a.cfg.KubernetesVersions
	}
	hosted, msg := hostedSpec(req.Hosted, hostedVersions, req.KubernetesVersion != "")
	if msg != "" {
		a.invalid(w, r, msg)
		return
	}
	schedule, msg := snapshotSchedule(req.EtcdSnapshots, req.KubernetesVersion != "")
	if msg != "" {
		a.invalid(w, r, msg)
		return
	}
	cluster := &v1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, Finalizers: []string{clusters.CleanupFinalizer}},
		Spec:       v1.ClusterSpec{DisplayName: req.DisplayName, Description: req.Description, Hosted: hosted},
	}
	if req.KubernetesVersion != "" {
		cluster.Spec.Provisioning = &v1.ClusterProvisioning{KubernetesVersion: req.KubernetesVersion, EtcdSnapshots: schedule}
		for _, p := range req.MachinePools {
			cluster.Spec.Provisioning.MachinePools = append(cluster.Spec.Provisioning.MachinePools, specPool(p))
		}
	}
	if err := a.client.Create(r.Context(), cluster); err != nil {
		if apierrors.IsAlreadyExists(err) {
			a.fail(w, r, http.StatusConflict, metav1.StatusReasonAlreadyExists, "cluster "+req.Name+" already exists", nil)
			return
		}
		a.internal(w, r, err)
		return
	}
	token, crt, err := a.reg.IssueRegistrationToken(r.Context(), cluster)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), cluster, false)
	a.audit.Info("cluster created", "cluster", cluster.Name, "actor", id.UserName, "registrationToken", crt.Name)
	writeJSON(w, http.StatusCreated, herdapi.ClusterCreateResponse{
		Cluster: apiCluster(cluster),
		Import:  a.importInfo(a.serverURL(r.Host), token, crt),
	})
}

// visibleCluster resolves {name} to a cluster the caller may see, or
// answers 404: a cluster the caller may not reach looks absent.
func (a clustersAPI) visibleCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity) (*v1.Cluster, bool) {
	name := r.PathValue("name")
	c, ok := a.authz.ReachableCluster(r.Context(), id, name)
	if !ok || c == nil {
		a.notFound(w, r, "cluster "+name)
		return nil, false
	}
	return c, true
}

func (a clustersAPI) handleGetCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if c, ok := a.visibleCluster(w, r, id); ok {
		writeJSON(w, http.StatusOK, apiCluster(c))
	}
}

// handleDeleteCluster deletes a cluster. Its scoped tokens end at once,
// and so does every way into it through Herd. Herd then removes what it
// wrote into the cluster through the tunnel and lets the Cluster go: 204
// when that happened within a few seconds, else 202 (the cluster is gone
// from Herd's proxy and API, cleanup waits for its agent). With
// ?force=true nothing waits: a cluster that is gone for good keeps
// whatever Herd wrote into it.
func (a clustersAPI) handleDeleteCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	c, ok := a.visibleCluster(w, r, id)
	if !ok {
		return
	}
	if !a.authz.Allowed(r.Context(), id, "delete", "clusters") {
		a.forbidden(w, r, id, "delete clusters")
		return
	}
	force := false
	switch r.URL.Query().Get("force") {
	case "true":
		force = true
	case "", "false":
	default:
		a.invalid(w, r, "force must be true or false")
		return
	}
	gone, err := a.clusters.Delete(r.Context(), c, force, 10*time.Second)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("cluster deleted", "actor", id.UserName, "cluster", c.Name, "uid", c.UID, "force", force, "source", sourceAddr(r))
	if gone {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusAccepted, metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusAccepted,
		Message: "cluster " + c.Name + " is deleted from Herd; Herd removes its roles and token copies from the cluster when its agent " +
			"connects. If the cluster is gone for good, delete it with force (`herdctl clusters delete " + c.Name + " --force`).",
	})
}

// handleImport issues a new registration token for a cluster; older ones
// stay valid for the grace period.
func (a clustersAPI) handleImport(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ImportRequest
	if r.ContentLength != 0 && !a.decode(w, r, &req) {
		return
	}
	c, ok := a.visibleCluster(w, r, id)
	if !ok {
		return
	}
	if !a.authz.Allowed(r.Context(), id, "update", "clusters") {
		a.forbidden(w, r, id, "import clusters")
		return
	}
	if !c.DeletionTimestamp.IsZero() {
		a.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, "cluster "+c.Name+" is being deleted; create it again once it is gone", nil)
		return
	}
	grace := clusters.DefaultGracePeriod
	if req.GracePeriodSeconds != 0 {
		grace = time.Duration(req.GracePeriodSeconds) * time.Second
	}
	token, crt, err := a.reg.RotateRegistrationToken(r.Context(), c, grace)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("registration token rotated", "actor", id.UserName, "cluster", c.Name, "registrationToken", crt.Name, "grace", grace.String())
	writeJSON(w, http.StatusCreated, a.importInfo(a.serverURL(r.Host), token, crt))
}

// handleImportManifest serves the manifest that registers a cluster. It is
// unauthenticated: the registration token in the path is the key, and
// every refusal is the same 404.
func (a clustersAPI) handleImportManifest(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".yaml")
	crt, cluster, err := a.reg.VerifyRegistrationToken(r.Context(), token)
	if !ok || err != nil {
		a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound, "no such import manifest: ask for a new one with `herdctl clusters import-command`", err)
		return
	}
	manifest, err := importmanifest.Render(importmanifest.Params{
		ServerURL:   a.serverURL(r.Host),
		Token:       token,
		CAChecksum:  certs.Checksum(a.cfg.CABundle),
		ClusterName: cluster.Name,
		ClusterUID:  string(cluster.UID),
		Image:       a.cfg.AgentImage,
	})
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the import manifest cannot be made for this request: set --server-url", err)
		return
	}
	a.log.Info("import manifest served", "cluster", cluster.Name, "registrationToken", crt.Name, "from", sourceAddr(r))
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(manifest)
}

func apiCluster(c *v1.Cluster) herdapi.Cluster {
	out := herdapi.Cluster{
		Name:            c.Name,
		DisplayName:     c.Spec.DisplayName,
		Description:     c.Spec.Description,
		Connected:       conditionStatus(c, v1.ClusterConnected),
		Ready:           conditionStatus(c, v1.ClusterReady),
		Version:         c.Status.KubernetesVersion,
		NodeCount:       c.Status.NodeCount,
		CreatedAt:       c.CreationTimestamp.Time,
		ConnectedAgents: c.Status.ConnectedAgents,
		MachinePools:    apiPools(c),
		Hosted:          apiHosted(c),
		EtcdSnapshots:   apiSchedule(c),
	}
	if c.Spec.Provisioning != nil {
		out.KubernetesVersion = c.Spec.Provisioning.KubernetesVersion
		if s := c.Spec.Provisioning.EtcdS3; s != nil {
			out.EtcdS3 = &herdapi.EtcdS3{Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, Folder: s.Folder,
				EndpointCA: s.EndpointCA, SkipTLSVerify: s.SkipTLSVerify}
		}
		if cond := meta.FindStatusCondition(c.Status.Conditions, v1.ClusterUpgraded); cond != nil && cond.Status != metav1.ConditionTrue {
			out.Upgrade = cond.Reason + ": " + cond.Message
		}
	}
	if e := c.Spec.AuthorizedEndpoint; e != nil {
		out.AuthorizedEndpoint = &herdapi.AuthorizedEndpoint{Enabled: e.Enabled, FQDN: e.FQDN, CACerts: e.CACerts}
	}
	if c.Status.LastSeen != nil {
		t := c.Status.LastSeen.Time
		out.LastSeen = &t
	}
	quantities := func(l corev1.ResourceList) map[string]string {
		if len(l) == 0 {
			return nil
		}
		m := map[string]string{}
		for k, v := range l {
			m[string(k)] = v.String()
		}
		return m
	}
	out.Capacity, out.Allocatable, out.Requested = quantities(c.Status.Capacity), quantities(c.Status.Allocatable), quantities(c.Status.Requested)
	for _, n := range c.Status.Nodes {
		out.Nodes = append(out.Nodes, herdapi.ClusterNode{Name: n.Name, Roles: n.Roles, KubeletVersion: n.KubeletVersion, Ready: n.Ready})
	}
	if !c.DeletionTimestamp.IsZero() {
		out.Deleting = true
		out.Message = "being deleted: Herd removes its roles and token copies from the cluster when its agent connects"
		return out
	}
	for _, t := range []string{v1.ClusterConnected, v1.ClusterReady, v1.ClusterRBACSynced, v1.ClusterProjectGuard} {
		if cond := meta.FindStatusCondition(c.Status.Conditions, t); cond != nil && cond.Status != metav1.ConditionTrue {
			out.Message = t + ": " + cond.Message
			break
		}
	}
	return out
}

func conditionStatus(c *v1.Cluster, t string) string {
	if cond := meta.FindStatusCondition(c.Status.Conditions, t); cond != nil {
		return string(cond.Status)
	}
	return "Unknown"
}

// importInfo says how to use a registration token; base is the server URL.
// With a generated certificate, which no system trusts, the command fetches
// the manifest with curl pinned to the server's public key, so it is as
// safe as with a trusted certificate.
func (a clustersAPI) importInfo(base, token string, crt *v1.ClusterRegistrationToken) herdapi.ImportInfo {
	u := base + "/v1/import/" + url.PathEscape(token) + ".yaml"
	cmd := "kubectl apply -f " + u
	if a.cfg.KeyPin != "" {
		cmd = fmt.Sprintf("curl -fsSL --insecure --pinnedpubkey '%s' '%s' | kubectl apply -f -", a.cfg.KeyPin, u)
	}
	return herdapi.ImportInfo{URL: u, Command: cmd, ExpiresAt: crt.Spec.ExpiresAt.Time}
}

// serverURL is the URL agents and clients reach this server at.
func (a clustersAPI) serverURL(host string) string {
	if a.cfg.ServerURL != "" {
		return strings.TrimSuffix(a.cfg.ServerURL, "/")
	}
	return (&url.URL{Scheme: "https", Host: host}).String()
}
