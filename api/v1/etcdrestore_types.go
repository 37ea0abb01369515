package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phases of an EtcdRestore.
const (
	RestorePending    = "Pending"
	RestoreInProgress = "InProgress"
	RestoreSucceeded  = "Succeeded"
	RestoreFailed     = "Failed"
)

// Steps of an EtcdRestore in progress, in order.
const (
	// RestoreStopControlPlanes: every control plane's components stop.
	RestoreStopControlPlanes = "StopControlPlanes"
	// RestoreEtcd: etcd stops and its data is replaced by the snapshot's.
	RestoreEtcd = "RestoreEtcd"
	// RestoreRestart: etcd, then the control planes' components, start
	// again.
	RestoreRestart = "Restart"
	// RestoreRejoinEtcd: the other etcd members, their data moved aside,
	// join the restored member one at a time.
	RestoreRejoinEtcd = "RejoinEtcd"
	// RestoreReconnect: once the kube-apiservers answer, the cluster agent
	// starts again.
	RestoreReconnect = "Reconnect"
)

// EtcdRestoreSpec puts a provisioned cluster back to one of its snapshots.
type EtcdRestoreSpec struct {
	// ClusterName is the provisioned Cluster to restore.
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`
	// SnapshotName is the EtcdSnapshot (of that cluster) to restore.
	// +kubebuilder:validation:MaxLength=253
	SnapshotName string `json:"snapshotName"`
}

// EtcdRestoreStatus is how far the restore is.
type EtcdRestoreStatus struct {
	// Phase: Pending, InProgress, Succeeded or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Step of a restore InProgress: StopControlPlanes, RestoreEtcd,
	// Restart, RejoinEtcd, Reconnect.
	// +optional
	Step string `json:"step,omitempty"`
	// Message says what the restore waits for, or why it failed.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
	// Error says why the restore failed while the cluster restarts as it
	// was; the restore ends Failed with it once the cluster is back.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Error string `json:"error,omitempty"`
	// StartedAt and FinishedAt bound the restore.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
}

// EtcdRestore is one restore of a provisioned cluster's etcd from a
// snapshot: every control plane stops, etcd is restored (its revision
// bumped and marked compacted, so that watchers list again), then etcd
// and the control planes start. One runs at a time per cluster; those
// that ended stay as the cluster's history and go with it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Snapshot",type=string,JSONPath=`.spec.snapshotName`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Step",type=string,JSONPath=`.status.step`
// +kubebuilder:printcolumn:name="Started",type=date,JSONPath=`.status.startedAt`
type EtcdRestore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec EtcdRestoreSpec `json:"spec"`
	// +optional
	Status EtcdRestoreStatus `json:"status,omitempty"`
}

// EtcdRestoreList is a list of EtcdRestores.
//
// +kubebuilder:object:root=true
type EtcdRestoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EtcdRestore `json:"items"`
}

func init() {
	SchemeBuilder.Register(&EtcdRestore{}, &EtcdRestoreList{})
}
