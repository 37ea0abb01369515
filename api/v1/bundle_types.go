package v1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations of bundles.
const (
	// BundleLabel names the Bundle of a BundleDeployment, of a content
	// Secret, and of every object a bundle put into a downstream cluster.
	BundleLabel = "bundles.herd.dev/bundle"
	// BundleClusterLabel names the cluster of a BundleDeployment.
	BundleClusterLabel = "bundles.herd.dev/cluster"
	// BundleDeploymentLabel names, on every object a bundle put into a
	// downstream cluster, the BundleDeployment that put it there.
	BundleDeploymentLabel = "bundles.herd.dev/deployment"
	// BundleCreatorAnnotation is the Herd user (User name) whose rights a
	// Bundle is applied with. Herd's API sets it from the caller; a Bundle
	// made directly in the management cluster (only Herd administrators
	// can) must name one.
	BundleCreatorAnnotation = "bundles.herd.dev/creator"
	// BundleFinalizer keeps a BundleDeployment until what it applied is
	// removed from its cluster.
	BundleFinalizer = "bundles.herd.dev/remove"
)

// Drift correction modes.
const (
	DriftCorrect = "Correct"
	DriftReport  = "Report"
)

// States of a BundleDeployment.
const (
	BundleStateWaiting  = "Waiting"  // not staged yet: the rollout holds it back
	BundleStatePending  = "Pending"  // staged, not applied yet
	BundleStateNotReady = "NotReady" // applied, objects not ready yet
	BundleStateReady    = "Ready"
	BundleStateDrifted  = "Drifted" // objects differ from what was applied (drift reported only)
	BundleStateError    = "Error"
	BundleStateOffline  = "Offline" // the cluster's agent is not connected
)

// BundleGit is a Git repository that holds a bundle's content.
type BundleGit struct {
	// Repo is the repository's http:// or https:// URL.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	Repo string `json:"repo"`
	// Ref is a branch or a tag. Default: main.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Ref string `json:"ref,omitempty"`
	// Path is the directory in the repository: a Helm chart (it holds
	// Chart.yaml) or Kubernetes manifests (its .yaml, .yml and .json
	// files). Default: the repository's root.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Path string `json:"path,omitempty"`
	// SecretName is a Secret in herd-system with the credentials: keys
	// username and password (or a token as the password), and caBundle
	// (PEM) for an https server with a private CA. Optional.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// PollInterval is how often the ref is looked at. Default: 15s; at
	// least 5s. POST /v1/bundles/NAME/refresh looks at once.
	// +optional
	PollInterval *metav1.Duration `json:"pollInterval,omitempty"`
}

// BundleHelm says how a chart is installed.
type BundleHelm struct {
	// ReleaseName is the Helm release. Default: the Bundle's name.
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// Values are the chart's values (as `helm install --values`).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
}

// BundleOverride changes what some of the targeted clusters get.
type BundleOverride struct {
	// ClusterNames and ClusterSelector choose the clusters (either).
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	ClusterNames []string `json:"clusterNames,omitempty"`
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
	// Namespace replaces spec.namespace for those clusters.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Values are merged over spec.helm.values for those clusters.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
}

// BundleTargets are the clusters a bundle goes to: those named and those
// the selector matches. Neither: none.
type BundleTargets struct {
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	ClusterNames []string `json:"clusterNames,omitempty"`
	// ClusterSelector matches Cluster labels; {} matches every cluster.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
	// Overrides apply in order; a later one wins.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Overrides []BundleOverride `json:"overrides,omitempty"`
}

// BundleRollout limits how a change spreads.
type BundleRollout struct {
	// MaxChanging is how many clusters may be changing at once (staged
	// and not yet ready). 0: all at once.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxChanging int32 `json:"maxChanging,omitempty"`
	// ContinueOnFailure keeps a rollout going when a cluster fails.
	// Default: a failure pauses it until the bundle changes.
	// +optional
	ContinueOnFailure bool `json:"continueOnFailure,omitempty"`
}

// BundleSpec is content and where it goes.
type BundleSpec struct {
	// Manifests are Kubernetes objects in YAML (documents separated by
	// ---), applied with server-side apply. Either this or git.
	// +kubebuilder:validation:MaxLength=524288
	// +optional
	Manifests string `json:"manifests,omitempty"`
	// Git is a repository that holds the content.
	// +optional
	Git *BundleGit `json:"git,omitempty"`
	// Helm says how a chart from git is installed.
	// +optional
	Helm *BundleHelm `json:"helm,omitempty"`
	// Namespace is the namespace of objects that name none, and of the
	// Helm release. Default: default.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Targets are the clusters.
	Targets BundleTargets `json:"targets"`
	// DriftCorrection: Correct (default) puts back what someone changed
	// or deleted; Report only says so.
	// +kubebuilder:validation:Enum=Correct;Report
	// +optional
	DriftCorrection string `json:"driftCorrection,omitempty"`
	// Rollout limits how a change spreads.
	// +optional
	Rollout BundleRollout `json:"rollout,omitempty"`
}

// BundleClusterStatus is one cluster's state, as its BundleDeployment says.
type BundleClusterStatus struct {
	Cluster string `json:"cluster"`
	// +optional
	Revision string `json:"revision,omitempty"`
	State    string `json:"state"`
	// +optional
	Message string `json:"message,omitempty"`
}

// BundleStatus is the rollout's state.
type BundleStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Revision is the content being rolled out: the Git commit, or a
	// digest of the manifests.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Desired is how many clusters are targeted; ReadyClusters how many
	// are ready at Revision.
	// +optional
	Desired int32 `json:"desired"`
	// +optional
	ReadyClusters int32 `json:"readyClusters"`
	// Summary is READY/DESIRED, as kubectl shows it.
	// +optional
	Summary string `json:"summary,omitempty"`
	// Paused is set while a failure holds the rollout.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// Message says what is wrong, or what the rollout waits for.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
	// Clusters is each targeted cluster's state, by name.
	// +optional
	Clusters []BundleClusterStatus `json:"clusters,omitempty"`
	// LastPolled is when the Git ref was last looked at and found at a
	// new revision (polls that find nothing new write nothing).
	// +optional
	LastPolled *metav1.Time `json:"lastPolled,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Bundle is content (Kubernetes manifests, or a Helm chart with values,
// inline or from Git) applied to the clusters its targets select, with
// the rights of the user who made it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.summary`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Paused",type=boolean,JSONPath=`.status.paused`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Bundle struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BundleSpec `json:"spec"`
	// +optional
	Status BundleStatus `json:"status,omitempty"`
}

// BundleList is a list of Bundles.
//
// +kubebuilder:object:root=true
type BundleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bundle `json:"items"`
}

// BundleObject names an object a bundle applied.
type BundleObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// BundleDeploymentSpec is what one cluster is to hold of a bundle: set
// by the bundle's rollout, carried out by the cluster's controllers.
type BundleDeploymentSpec struct {
	BundleName  string `json:"bundleName"`
	ClusterName string `json:"clusterName"`
	// Revision is the content's revision; ContentSecret the Secret in
	// herd-system that holds it.
	Revision      string `json:"revision"`
	ContentSecret string `json:"contentSecret"`
	// Chart says the content is a Helm chart, installed as ReleaseName.
	// +optional
	Chart bool `json:"chart,omitempty"`
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// Namespace is the default namespace and the release's.
	Namespace string `json:"namespace"`
	// Values are the chart's values for this cluster, overrides merged.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
	// DriftCorrection: Correct or Report.
	DriftCorrection string `json:"driftCorrection"`
	// User is the Herd user whose rights apply the content.
	User string `json:"user"`
	// Hash is a digest of everything above that changes what is applied.
	Hash string `json:"hash"`
}

// BundleDeploymentStatus is what the cluster holds.
type BundleDeploymentStatus struct {
	// State is Pending, NotReady, Ready, Drifted, Error or Offline.
	// +optional
	State string `json:"state,omitempty"`
	// AppliedHash and AppliedRevision are of the spec last applied.
	// +optional
	AppliedHash string `json:"appliedHash,omitempty"`
	// +optional
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// FailedHash is the spec whose apply failed (Error).
	// +optional
	FailedHash string `json:"failedHash,omitempty"`
	// Ready: every applied object is ready.
	// +optional
	Ready bool `json:"ready,omitempty"`
	// Drifted: an applied object was changed or deleted in the cluster.
	// +optional
	Drifted bool `json:"drifted,omitempty"`
	// Message says what failed or what is not ready.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
	// Objects are what was applied.
	// +kubebuilder:validation:MaxItems=2000
	// +optional
	Objects []BundleObject `json:"objects,omitempty"`
	// ReleaseRevision is the Helm release's revision.
	// +optional
	ReleaseRevision int `json:"releaseRevision,omitempty"`
	// Corrections counts the times drift was put right.
	// +optional
	Corrections int64 `json:"corrections,omitempty"`
	// LastApplied is when the content was last applied.
	// +optional
	LastApplied *metav1.Time `json:"lastApplied,omitempty"`
}

// BundleDeployment is one Bundle in one cluster, named BUNDLE.CLUSTER.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Bundle",type=string,JSONPath=`.spec.bundleName`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.appliedRevision`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
type BundleDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BundleDeploymentSpec `json:"spec"`
	// +optional
	Status BundleDeploymentStatus `json:"status,omitempty"`
}

// BundleDeploymentList is a list of BundleDeployments.
//
// +kubebuilder:object:root=true
type BundleDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BundleDeployment `json:"items"`
}

// BundleDeploymentName is the BundleDeployment of bundle in cluster.
func BundleDeploymentName(bundle, cluster string) string { return bundle + "." + cluster }

func init() {
	SchemeBuilder.Register(&Bundle{}, &BundleList{}, &BundleDeployment{}, &BundleDeploymentList{})
}
