// Package wellknown holds the names that Herd's parts agree on and that
// users see: its namespaces, labels, groups and field manager. It imports
// nothing, so every package may use it.
package wellknown

const (
	// Namespace is Herd's namespace: in the management cluster it holds
	// Herd's Secrets and its leader Lease; downstream, the agents and
	// their accounts.
	Namespace = "herd-system"
	// TokenCopiesNamespace holds, downstream, the token copies for the
	// authorized cluster endpoint, apart from the agent's credentials so
	// that kube-api-auth may read them and nothing else.
	TokenCopiesNamespace = "herd-tokens"

	// ManagedByLabel, with value ManagedBy, marks every object Herd makes.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "herd"
	// ClusterLabel names, on a registration or agent token or a
	// credential Secret, the Cluster it belongs to.
	ClusterLabel = "management.herd.dev/cluster"

	// AdminsGroup is the group Herd asserts downstream for users whose
	// global role grants every cluster (Herd administrators); it holds
	// cluster-admin there. Provider groups are principals with a scheme
	// (openldap_group://...), so none can be named this.
	AdminsGroup = "herd:global-admins"

	// FieldOwner is the server-side apply field manager of Herd's writes.
	FieldOwner = "herd-server"

	// NoRegistryTaint (effect NoSchedule) marks a node that reaches no
	// image registry and runs only images imported into it, as the real
	// nodes of Herd's local clusters; Herd's own pods tolerate it.
	NoRegistryTaint = "node.herd.dev/no-registry"

	// KubeAPIAuthPort is where the authorized cluster endpoint's webhook
	// (`herd kube-api-auth`) listens on a control-plane node's loopback,
	// and where that node's kube-apiserver asks it about tokens
	// (https://127.0.0.1:6440/authenticate).
	KubeAPIAuthPort = 6440
	// KubeAPIAuthCertDir holds the webhook's serving certificate on a
	// control-plane node (tls.crt, tls.key, readable by the image's
	// non-root user), put there by whoever configures the kube-apiserver
	// to trust it.
	KubeAPIAuthCertDir = "/etc/herd/kube-api-auth"
	// ImageUID is the user (and group) that Herd's image and the import
	// manifest's pods run as: distroless' "nonroot".
	ImageUID = 65532

	// LocalCluster is the cluster id of the management cluster itself; no
	// Cluster may be named so.
	LocalCluster = "local"
)

// ManagedLabels returns the labels of an object Herd makes, with more.
func ManagedLabels(more map[string]string) map[string]string {
	out := map[string]string{ManagedByLabel: ManagedBy}
	for k, v := range more {
		out[k] = v
	}
	return out
}
