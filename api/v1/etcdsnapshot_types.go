package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phases of an EtcdSnapshot.
const (
	SnapshotPending   = "Pending"
	SnapshotSucceeded = "Succeeded"
	SnapshotFailed    = "Failed"
)

// EtcdSnapshotSpec is a snapshot of a provisioned cluster's etcd that a
// user asked for.
type EtcdSnapshotSpec struct {
	// ClusterName is the provisioned Cluster whose etcd is saved.
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`
}

// EtcdSnapshotStatus is where the snapshot is and what it holds.
type EtcdSnapshotStatus struct {
	// Phase: Pending, Succeeded or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Machine is the hostname of the etcd machine that holds the file.
	// +optional
	Machine string `json:"machine,omitempty"`
	// Location is the file on that machine, under its node agent's root.
	// +optional
	Location string `json:"location,omitempty"`
	// S3Location is the snapshot's copy in S3 (s3://BUCKET/KEY), when
	// the cluster stores its snapshots there.
	// +optional
	S3Location string `json:"s3Location,omitempty"`
	// Size of the snapshot in bytes, and its SHA-256.
	// +optional
	Size int64 `json:"size,omitempty"`
	// +optional
	SHA256 string `json:"sha256,omitempty"`
	// KubernetesVersion of the cluster when it was taken.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// TakenAt is when etcd was saved.
	// +optional
	TakenAt *metav1.Time `json:"takenAt,omitempty"`
	// Message says why a snapshot failed.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
}

// EtcdSnapshot is one snapshot of a provisioned cluster's etcd, taken by
// the node agent of its first etcd member and kept on that machine. It
// goes with its Cluster; deleting it deletes the file.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Machine",type=string,JSONPath=`.status.machine`
// +kubebuilder:printcolumn:name="Taken",type=date,JSONPath=`.status.takenAt`
type EtcdSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec EtcdSnapshotSpec `json:"spec"`
	// +optional
	Status EtcdSnapshotStatus `json:"status,omitempty"`
}

// EtcdSnapshotList is a list of EtcdSnapshots.
//
// +kubebuilder:object:root=true
type EtcdSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EtcdSnapshot `json:"items"`
}

func init() {
	SchemeBuilder.Register(&EtcdSnapshot{}, &EtcdSnapshotList{})
}
