package v1

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionReady is the condition that says whether a RoleTemplate, a
// binding or a Project is valid and in force; its reason says what is wrong.
const ConditionReady = "Ready"

// RoleTemplate contexts: where a template may be bound.
const (
	ContextCluster = "cluster"
	ContextProject = "project"
)

// Status is the observed state of RoleTemplates, bindings and Projects.
type Status struct {
	// Conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Subject is who a binding grants to: a user or a group principal.
type Subject struct {
	// UserName is a Herd User.
	// +optional
	UserName string `json:"userName,omitempty"`
	// GroupPrincipalID is a group principal (openldap_group://..., github_team://...).
	// +optional
	GroupPrincipalID string `json:"groupPrincipalId,omitempty"`
}

// GlobalRoleSpec lists rights in the management cluster.
type GlobalRoleSpec struct {
	// DisplayName is shown instead of the object name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Rules are Kubernetes RBAC rules on the management cluster.
	// +optional
	Rules []rbacv1.PolicyRule `json:"rules,omitempty"`
	// Builtin roles are made by Herd and cannot be deleted.
	// +optional
	Builtin bool `json:"builtin,omitempty"`
	// NewUserDefault binds the role to every new user.
	// +optional
	NewUserDefault bool `json:"newUserDefault,omitempty"`
}

// GlobalRole is a set of rights across Herd (admin, user, ...).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Builtin",type=boolean,JSONPath=`.spec.builtin`
type GlobalRole struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GlobalRoleSpec `json:"spec"`
}

// GlobalRoleList is a list of GlobalRoles.
//
// +kubebuilder:object:root=true
type GlobalRoleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GlobalRole `json:"items"`
}

// GlobalRoleBindingSpec grants a GlobalRole to a subject.
type GlobalRoleBindingSpec struct {
	// GlobalRoleName is the role granted.
	// +kubebuilder:validation:MinLength=1
	GlobalRoleName string `json:"globalRoleName"`
	// Subject receives the role.
	Subject Subject `json:"subject"`
}

// GlobalRoleBinding grants a GlobalRole.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.globalRoleName`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.subject.userName`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.subject.groupPrincipalId`
type GlobalRoleBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GlobalRoleBindingSpec `json:"spec"`
}

// GlobalRoleBindingList is a list of GlobalRoleBindings.
//
// +kubebuilder:object:root=true
type GlobalRoleBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GlobalRoleBinding `json:"items"`
}

// RoleTemplateSpec is a role that becomes a ClusterRole downstream.
type RoleTemplateSpec struct {
	// DisplayName is shown instead of the object name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Context is where the template may be bound: cluster or project.
	// +kubebuilder:validation:Enum=cluster;project
	Context string `json:"context"`
	// Rules are Kubernetes RBAC rules in the downstream cluster.
	// +optional
	Rules []rbacv1.PolicyRule `json:"rules,omitempty"`
	// RoleTemplateNames are inherited: their rules are added to these.
	// +listType=set
	// +optional
	RoleTemplateNames []string `json:"roleTemplateNames,omitempty"`
	// Builtin templates are made by Herd and cannot be deleted.
	// +optional
	Builtin bool `json:"builtin,omitempty"`
}

// RoleTemplate is a role for clusters or projects.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Context",type=string,JSONPath=`.spec.context`
// +kubebuilder:printcolumn:name="Builtin",type=boolean,JSONPath=`.spec.builtin`
type RoleTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RoleTemplateSpec `json:"spec"`
	Status Status           `json:"status,omitempty"`
}

// RoleTemplateList is a list of RoleTemplates.
//
// +kubebuilder:object:root=true
type RoleTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoleTemplate `json:"items"`
}

// ClusterRoleTemplateBindingSpec grants a RoleTemplate on one cluster.
type ClusterRoleTemplateBindingSpec struct {
	// ClusterName is the cluster.
	// +kubebuilder:validation:MinLength=1
	ClusterName string `json:"clusterName"`
	// RoleTemplateName is the role granted.
	// +kubebuilder:validation:MinLength=1
	RoleTemplateName string `json:"roleTemplateName"`
	// Subject receives the role.
	Subject Subject `json:"subject"`
}

// ClusterRoleTemplateBinding becomes a ClusterRoleBinding downstream.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.roleTemplateName`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.subject.userName`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.subject.groupPrincipalId`
type ClusterRoleTemplateBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterRoleTemplateBindingSpec `json:"spec"`
	Status Status                         `json:"status,omitempty"`
}

// ClusterRoleTemplateBindingList is a list of ClusterRoleTemplateBindings.
//
// +kubebuilder:object:root=true
type ClusterRoleTemplateBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterRoleTemplateBinding `json:"items"`
}

// ProjectRoleTemplateBindingSpec grants a RoleTemplate in one project.
type ProjectRoleTemplateBindingSpec struct {
	// ProjectName is the project.
	// +kubebuilder:validation:MinLength=1
	ProjectName string `json:"projectName"`
	// RoleTemplateName is the role granted.
	// +kubebuilder:validation:MinLength=1
	RoleTemplateName string `json:"roleTemplateName"`
	// Subject receives the role.
	Subject Subject `json:"subject"`
}

// ProjectRoleTemplateBinding becomes a RoleBinding in each of the
// project's namespaces downstream.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.projectName`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.roleTemplateName`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.subject.userName`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.subject.groupPrincipalId`
type ProjectRoleTemplateBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProjectRoleTemplateBindingSpec `json:"spec"`
	Status Status                         `json:"status,omitempty"`
}

// ProjectRoleTemplateBindingList is a list of ProjectRoleTemplateBindings.
//
// +kubebuilder:object:root=true
type ProjectRoleTemplateBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProjectRoleTemplateBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GlobalRole{}, &GlobalRoleList{}, &GlobalRoleBinding{}, &GlobalRoleBindingList{},
		&RoleTemplate{}, &RoleTemplateList{}, &ClusterRoleTemplateBinding{}, &ClusterRoleTemplateBindingList{},
		&ProjectRoleTemplateBinding{}, &ProjectRoleTemplateBindingList{})
}
