package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Machine roles.
const (
	RoleEtcd         = "etcd"
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Plan states of a Machine.
const (
	PlanPending    = "Pending"
	PlanInProgress = "InProgress"
	PlanSucceeded  = "Succeeded"
	PlanFailed     = "Failed"
)

// MachineSpec is a machine as its node agent registered it.
type MachineSpec struct {
	// ClusterName is the Cluster the machine belongs to.
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`
	// Roles of the machine: etcd, control-plane, worker.
	// +kubebuilder:validation:MaxItems=3
	Roles []string `json:"roles"`
	// Hostname the node agent reported; the node's name.
	// +kubebuilder:validation:MaxLength=253
	Hostname string `json:"hostname"`
	// Address is the machine's IP address, where its components listen.
	// +kubebuilder:validation:MaxLength=45
	Address string `json:"address"`
	// Labels and Taints ("key=value:Effect") go to the machine's node.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Taints []string `json:"taints,omitempty"`
	// CredentialHash is the salted hash of the machine's credential, with
	// which its node agent reads its plan and reports back.
	CredentialHash string `json:"credentialHash"`
	// RegistrationToken names the registration token the machine
	// registered with.
	// +optional
	RegistrationToken string `json:"registrationToken,omitempty"`
}

// MachineStatus is the state of the machine's plan as its node agent
// reports it.
type MachineStatus struct {
	// PlanRevision is the revision (sha256) of the machine's current plan.
	// +optional
	PlanRevision string `json:"planRevision,omitempty"`
	// AppliedRevision is the revision the node agent last applied.
	// +optional
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// State of applying PlanRevision: Pending, InProgress, Succeeded, Failed.
	// +optional
	State string `json:"state,omitempty"`
	// Failures counts failed attempts at PlanRevision.
	// +optional
	Failures int32 `json:"failures,omitempty"`
	// FailedInstruction names the instruction that failed last.
	// +optional
	FailedInstruction string `json:"failedInstruction,omitempty"`
	// Output is the end of the last instruction's output.
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Output string `json:"output,omitempty"`
	// Probes: each probe of the plan and whether it passes.
	// +optional
	Probes map[string]bool `json:"probes,omitempty"`
	// LastContact is when the node agent was last heard from.
	// +optional
	LastContact *metav1.Time `json:"lastContact,omitempty"`
}

// Machine is one machine of a provisioned (or custom) cluster, run by a
// node agent that registered with the cluster's registration token.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Hostname",type=string,JSONPath=`.spec.hostname`
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.address`
// +kubebuilder:printcolumn:name="Roles",type=string,JSONPath=`.spec.roles`
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Last Contact",type=date,JSONPath=`.status.lastContact`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Machine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec MachineSpec `json:"spec"`
	// +optional
	Status MachineStatus `json:"status,omitempty"`
}

// MachineList is a list of Machines.
//
// +kubebuilder:object:root=true
type MachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Machine `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Machine{}, &MachineList{})
}
