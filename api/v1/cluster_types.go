package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of a Cluster.
const (
	// ClusterConnected is True while the cluster's agent holds a tunnel.
	ClusterConnected = "Connected"
	// ClusterReady is True while the downstream /readyz passes.
	ClusterReady = "Ready"
	// ClusterRBACSynced is True when the cluster holds Herd's roles and
	// bindings as they are now.
	ClusterRBACSynced = "RBACSynced"
	// ClusterProvisioned is True once Herd has brought up a provisioned
	// cluster's machines; False says which tier waits for which machine.
	ClusterProvisioned = "Provisioned"
	// ClusterUpgraded is True when every machine of a provisioned cluster
	// runs its KubernetesVersion; while an upgrade runs it is False with
	// reason Upgrading and names the machine being worked on; a refused
	// change (a downgrade, a skipped minor) is False with the reason.
	ClusterUpgraded = "Upgraded"
	// ClusterProjectGuard is True while the cluster enforces the admission
	// policy that keeps namespaces in their projects (Kubernetes 1.30 or
	// newer, policy in place); False says why project boundaries are not
	// enforced there.
	ClusterProjectGuard = "ProjectGuard"
)

// ClusterSpec is what the user asks for.
type ClusterSpec struct {
	// DisplayName is shown instead of the object name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Description says what the cluster is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
	// AuthorizedEndpoint lets users reach the cluster's kube-apiserver
	// directly with their Herd tokens (checked by herd kube-api-auth in the
	// cluster), also when Herd is down.
	// +optional
	AuthorizedEndpoint *AuthorizedEndpoint `json:"authorizedEndpoint,omitempty"`
	// Provisioning makes Herd build the cluster on the machines whose node
	// agents register with its registration token, instead of importing
	// a cluster built elsewhere.
	// +optional
	Provisioning *ClusterProvisioning `json:"provisioning,omitempty"`
	// Hosted makes a hosted provider create the cluster (as EKS, GKE or
	// AKS would), which Herd then imports by itself.
	// +optional
	Hosted *ClusterHosted `json:"hosted,omitempty"`
}

// Hosted providers.
const (
	// HostedLocal makes `herd local-cluster` clusters on the server's host.
	HostedLocal = "local"
)

// ClusterHosted is a cluster that a hosted provider makes.
type ClusterHosted struct {
	// Provider that makes the cluster; "local" is the one there is.
	// +kubebuilder:validation:Enum=local
	Provider string `json:"provider"`
	// KubernetesVersion of the cluster.
	// +kubebuilder:validation:MaxLength=32
	KubernetesVersion string `json:"kubernetesVersion"`
	// Nodes is the number of simulated (kwok) nodes.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Nodes int32 `json:"nodes"`
	// RealNodes is the number of real nodes (kubelet, containerd), which
	// run Herd's agents; at least one, or the cluster is never connected.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=8
	RealNodes int32 `json:"realNodes"`
}

// ClusterProvisioning is how Herd builds a provisioned cluster.
type ClusterProvisioning struct {
	// KubernetesVersion of the cluster's components, one that Herd
	// supports.
	// +kubebuilder:validation:MaxLength=32
	KubernetesVersion string `json:"kubernetesVersion"`
	// MachinePools are machines that a machine driver creates and deletes
	// to keep each pool at its quantity. Machines whose node agents a user
	// starts with the registration token (the custom flow) come on top.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	// +optional
	MachinePools []MachinePool `json:"machinePools,omitempty"`
	// EtcdSnapshots takes snapshots of the cluster's etcd on a schedule.
	// +optional
	EtcdSnapshots *EtcdSnapshotSchedule `json:"etcdSnapshots,omitempty"`
	// EtcdS3 also stores the cluster's etcd snapshots in S3-compatible
	// object storage.
	// +optional
	EtcdS3 *EtcdS3 `json:"etcdS3,omitempty"`
	// UpgradeStrategy says how a change of KubernetesVersion rolls out.
	// +optional
	UpgradeStrategy *UpgradeStrategy `json:"upgradeStrategy,omitempty"`
}

// UpgradeStrategy: control planes are upgraded one at a time, then the
// workers, each cordoned and drained first and uncordoned after.
type UpgradeStrategy struct {
	// WorkerConcurrency is how many workers are drained and upgraded at
	// once. Zero: one.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	// +optional
	WorkerConcurrency int32 `json:"workerConcurrency,omitempty"`
}

// EtcdSnapshotSchedule takes an etcd snapshot every Interval and keeps
// the newest Retention of the scheduled ones (snapshots saved on demand
// are neither counted nor deleted).
type EtcdSnapshotSchedule struct {
	// Interval between snapshots ("6h"); at least one minute.
	Interval metav1.Duration `json:"interval"`
	// Retention is how many scheduled snapshots are kept.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Retention int32 `json:"retention"`
}

// EtcdS3 is where a cluster's etcd snapshots are also stored.
type EtcdS3 struct {
	// Endpoint: host[:port] (HTTPS) or an http:// or https:// URL.
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Region string `json:"region,omitempty"`
	// Folder in the bucket.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Folder string `json:"folder,omitempty"`
	// EndpointCA (PEM) the endpoint's certificate is signed by; empty:
	// the system's roots.
	// +optional
	EndpointCA string `json:"endpointCA,omitempty"`
	// SkipTLSVerify does not verify the endpoint's certificate.
	// +optional
	SkipTLSVerify bool `json:"skipTLSVerify,omitempty"`
	// CredentialsSecret, in herd-system, holds accessKey and secretKey.
	// +kubebuilder:validation:MaxLength=253
	CredentialsSecret string `json:"credentialsSecret"`
}

// SnapshotScheduledLabel ("true") marks the snapshots a schedule took.
const SnapshotScheduledLabel = "management.herd.dev/scheduled"

// Machine drivers.
const (
	// DriverLocal runs each machine as a `herd node-agent` process on the
	// server's host, with its own folder and loopback address.
	DriverLocal = "local"
)

// MachinePool is a set of like machines of a provisioned cluster.
type MachinePool struct {
	// Name of the pool: a DNS label, part of its machines' hostnames
	// (CLUSTER-NAME-N).
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	Name string `json:"name"`
	// Quantity of machines the driver keeps.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	Quantity int32 `json:"quantity"`
	// Roles of every machine of the pool: etcd, control-plane, worker.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	Roles []string `json:"roles"`
	// Driver that creates the machines; "local" is the one there is.
	// +kubebuilder:validation:Enum=local
	Driver string `json:"driver"`
}

// AuthorizedEndpoint configures direct access to a cluster.
type AuthorizedEndpoint struct {
	// Enabled adds a direct context to the kubeconfigs Herd hands out.
	Enabled bool `json:"enabled"`
	// FQDN (host[:port]) of a load balancer in front of the control-plane
	// nodes; empty: the kube-apiserver address the agent reports.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	FQDN string `json:"fqdn,omitempty"`
	// CACerts (PEM) that FQDN's certificate is signed by; empty: the
	// cluster's CA.
	// +optional
	CACerts string `json:"caCerts,omitempty"`
}

// ClusterStatus is what Herd observes of the downstream cluster.
type ClusterStatus struct {
	// Conditions: Connected and Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// APIEndpoint is the downstream kube-apiserver's address as the agent reports it.
	// +optional
	APIEndpoint string `json:"apiEndpoint,omitempty"`
	// CACert is the PEM CA bundle of the downstream kube-apiserver.
	// +optional
	CACert string `json:"caCert,omitempty"`
	// KubernetesVersion of the downstream kube-apiserver.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Nodes are the downstream nodes, sorted by name.
	// +optional
	Nodes []ClusterNode `json:"nodes,omitempty"`
	// NodeCount is the number of nodes.
	// +optional
	NodeCount int32 `json:"nodeCount,omitempty"`
	// Capacity, Allocatable and Requested sum CPU, memory and pods over all nodes.
	// +optional
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// +optional
	Allocatable corev1.ResourceList `json:"allocatable,omitempty"`
	// +optional
	Requested corev1.ResourceList `json:"requested,omitempty"`
	// LastSeen is when the agent was last heard from.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
	// ConnectedAgents is how many agent replicas hold a tunnel to Herd;
	// any one of them carries the cluster's traffic.
	// +optional
	ConnectedAgents int32 `json:"connectedAgents,omitempty"`
	// Owner is the Herd replica that runs the cluster's controllers: one
	// at a time, chosen by rendezvous hashing over the ready replicas and
	// handed over only once the previous owner has stopped them.
	// +optional
	Owner string `json:"owner,omitempty"`
}

// ClusterNode is one downstream node as the cluster controller sees it.
type ClusterNode struct {
	Name string `json:"name"`
	// Roles from the node-role.kubernetes.io/<role> labels.
	// +optional
	Roles []string `json:"roles,omitempty"`
	// KubeletVersion as the node reports it.
	// +optional
	KubeletVersion string `json:"kubeletVersion,omitempty"`
	// Ready is the node's Ready condition.
	Ready bool `json:"ready"`
}

// Cluster is one downstream Kubernetes cluster that Herd manages.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Connected",type=string,JSONPath=`.status.conditions[?(@.type=="Connected")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Agents",type=integer,JSONPath=`.status.connectedAgents`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodeCount`
// +kubebuilder:printcolumn:name="CPU",type=string,JSONPath=`.status.allocatable.cpu`
// +kubebuilder:printcolumn:name="CPU Requested",type=string,JSONPath=`.status.requested.cpu`,priority=1
// +kubebuilder:printcolumn:name="Memory",type=string,JSONPath=`.status.allocatable.memory`
// +kubebuilder:printcolumn:name="Pods",type=string,JSONPath=`.status.requested.pods`
// +kubebuilder:printcolumn:name="Last Seen",type=date,JSONPath=`.status.lastSeen`,priority=1
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.status.owner`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSpec   `json:"spec,omitempty"`
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
//
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

// ClusterRegistrationTokenSpec names the cluster that the token registers.
type ClusterRegistrationTokenSpec struct {
	// ClusterName is the Cluster this token registers.
	// +kubebuilder:validation:MinLength=1
	ClusterName string `json:"clusterName"`
	// TokenHash is the salted hash of the token's secret; the secret itself is never stored.
	TokenHash string `json:"tokenHash"`
	// ExpiresAt ends the token's validity.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// ClusterRegistrationToken lets an agent register its cluster; the token
// secret is the key to the import manifest.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterRegistrationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterRegistrationTokenSpec `json:"spec"`
}

// ClusterRegistrationTokenList is a list of ClusterRegistrationTokens.
//
// +kubebuilder:object:root=true
type ClusterRegistrationTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterRegistrationToken `json:"items"`
}

// ClusterAgentTokenSpec describes the credential of a cluster's agent.
type ClusterAgentTokenSpec struct {
	// ClusterName is the Cluster whose agent holds the token.
	// +kubebuilder:validation:MinLength=1
	ClusterName string `json:"clusterName"`
	// ClusterUID is that Cluster's UID: the token is refused for a cluster
	// made again under the same name.
	// +kubebuilder:validation:MinLength=1
	ClusterUID string `json:"clusterUID"`
	// TokenHash is the salted hash of the token's secret; the secret itself is never stored.
	TokenHash string `json:"tokenHash"`
	// RegistrationToken names the ClusterRegistrationToken the agent
	// registered with; reissuing the import command ends both together.
	// +optional
	RegistrationToken string `json:"registrationToken,omitempty"`
	// ExpiresAt ends the token's validity; unset while the import command
	// it came from is current.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// Scope: empty for the cluster agent's token (register, tunnel);
	// "node-tunnel" for the node agents' token, which opens the fallback
	// tunnel and nothing else.
	// +kubebuilder:validation:Enum="";node-tunnel
	// +optional
	Scope string `json:"scope,omitempty"`
}

// AgentTokenScopeNodeTunnel is the Scope of the node agents' token.
const AgentTokenScopeNodeTunnel = "node-tunnel"

// ClusterAgentToken is the credential a cluster agent received when it
// registered (one per registration), with which it connects its tunnel and
// registers again after a restart. It goes with its Cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Registration Token",type=string,JSONPath=`.spec.registrationToken`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterAgentToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterAgentTokenSpec `json:"spec"`
}

// ClusterAgentTokenList is a list of ClusterAgentTokens.
//
// +kubebuilder:object:root=true
type ClusterAgentTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAgentToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Cluster{}, &ClusterList{}, &ClusterRegistrationToken{}, &ClusterRegistrationTokenList{},
		&ClusterAgentToken{}, &ClusterAgentTokenList{})
}
