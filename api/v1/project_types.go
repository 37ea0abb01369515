package v1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProjectNamespaceLabel on a downstream namespace names the Project it
// belongs to; ProjectUIDLabel carries that Project's UID, so that a
// label left behind by a deleted project does not put the namespace in a
// new project of the same name. A namespace is in a project only when both
// match.
const (
	ProjectNamespaceLabel = "management.herd.dev/project"
	ProjectUIDLabel       = "management.herd.dev/project-uid"
)

// InProject reports whether a downstream namespace's labels put it in p.
func InProject(labels map[string]string, p *Project) bool {
	return labels[ProjectNamespaceLabel] == p.Name && labels[ProjectUIDLabel] == string(p.UID) && p.UID != ""
}

// ReservedNamespace reports whether a namespace is the system's or Herd's
// own and so may not join a project: a project role there would reach the
// cluster's control plane or Herd's impersonation accounts.
func ReservedNamespace(name string) bool {
	return name == "herd-system" || name == "default" || strings.HasPrefix(name, "kube-")
}

// ProjectSpec describes a set of namespaces of one cluster.
type ProjectSpec struct {
	// ClusterName is the cluster whose namespaces the project groups.
	// +kubebuilder:validation:MinLength=1
	ClusterName string `json:"clusterName"`
	// DisplayName is shown instead of the object name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Description says what the project is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// ProjectStatus lists what the project holds downstream.
type ProjectStatus struct {
	// Namespaces currently labelled into the project.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Project groups namespaces of one cluster for access control.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProjectSpec   `json:"spec"`
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Project `json:"items"`
}

// AuthConfigSpec configures one identity provider. Secrets such as bind
// passwords and client secrets are in Secrets, named here, never inline.
type AuthConfigSpec struct {
	// Type is the provider: local, activedirectory, openldap, github, oidc or saml.
	// +kubebuilder:validation:Enum=local;activedirectory;openldap;github;oidc;saml
	Type string `json:"type"`
	// Enabled turns the provider on.
	Enabled bool `json:"enabled"`
	// Settings are the provider's non-secret settings (server URLs, search bases, attribute names).
	// +optional
	Settings map[string]string `json:"settings,omitempty"`
	// SecretRef names the Secret (in Herd's namespace) with the provider's secrets.
	// +optional
	SecretRef string `json:"secretRef,omitempty"`
}

// AuthConfig is the configuration of one identity provider.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
type AuthConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AuthConfigSpec `json:"spec"`
}

// AuthConfigList is a list of AuthConfigs.
//
// +kubebuilder:object:root=true
type AuthConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AuthConfig `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Project{}, &ProjectList{}, &AuthConfig{}, &AuthConfigList{})
}
