package herdapi

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Role contexts: where a role may be bound.
const (
	ContextGlobal  = "global"
	ContextCluster = "cluster"
	ContextProject = "project"
)

// Role is a GlobalRole (context global) or a RoleTemplate (context cluster
// or project) as the API shows it.
type Role struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Context     string `json:"context"`
	Builtin     bool   `json:"builtin"`
	// Inherits lists the role templates whose rules this one adds.
	Inherits []string `json:"inherits,omitempty"`
	// Rules are the role's own rules.
	Rules []rbacv1.PolicyRule `json:"rules,omitempty"`
	// EffectiveRules are Rules with every inherited rule added (shown by
	// GET /v1/roles/{name} only).
	EffectiveRules []rbacv1.PolicyRule `json:"effectiveRules,omitempty"`
	// Ready is "True", or "False" with Message saying why (an inheritance cycle, a missing template).
	Ready   string `json:"ready,omitempty"`
	Message string `json:"message,omitempty"`
}

// RoleList is a list of roles.
type RoleList struct {
	Items []Role `json:"items"`
}

// Project is a set of namespaces of one cluster.
type Project struct {
	Name        string    `json:"name"`
	ClusterName string    `json:"clusterName"`
	DisplayName string    `json:"displayName,omitempty"`
	Description string    `json:"description,omitempty"`
	Namespaces  []string  `json:"namespaces"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ProjectList is a list of projects.
type ProjectList struct {
	Items []Project `json:"items"`
}

// ProjectCreateRequest makes a project in a cluster. Name is a DNS label
// unique across Herd.
type ProjectCreateRequest struct {
	Name        string `json:"name"`
	ClusterName string `json:"clusterName"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
}

// ProjectNamespaceRequest moves a namespace of the project's cluster into
// the project; Create makes the namespace when it does not exist.
type ProjectNamespaceRequest struct {
	Namespace string `json:"namespace"`
	Create    bool   `json:"create,omitempty"`
}

// Member is one binding of a role template to a user or group, in a
// cluster or a project.
type Member struct {
	// Name is the binding object's name, used to remove it.
	Name string `json:"name"`
	// ClusterName is set for cluster members and for project members (the project's cluster).
	ClusterName string `json:"clusterName"`
	// ProjectName is set for project members.
	ProjectName  string `json:"projectName,omitempty"`
	RoleTemplate string `json:"roleTemplate"`
	// UserName is the User id (u-...) and Username its login, for a user member.
	UserName string `json:"userName,omitempty"`
	Username string `json:"username,omitempty"`
	// Group is the group principal id, for a group member.
	Group     string    `json:"group,omitempty"`
	Ready     string    `json:"ready,omitempty"`
	Message   string    `json:"message,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// MemberList is a list of members.
type MemberList struct {
	Items []Member `json:"items"`
}

// MemberRequest binds a role template: exactly one of ClusterName and
// ProjectName, exactly one of Username (a Herd user's login name) and Group
// (a group principal id).
type MemberRequest struct {
	ClusterName  string `json:"clusterName,omitempty"`
	ProjectName  string `json:"projectName,omitempty"`
	RoleTemplate string `json:"roleTemplate"`
	Username     string `json:"username,omitempty"`
	Group        string `json:"group,omitempty"`
}
