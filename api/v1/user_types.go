package v1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// UserSpec describes one person. The password hash, for local users, is in
// the Secret named by PasswordSecretRef, never in the User.
type UserSpec struct {
	// Username is the login name of a local user; unique.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Username string `json:"username,omitempty"`
	// DisplayName is shown instead of the username.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// PrincipalIDs are the identities the user is known by
	// (local://u-x, openldap_user://..., github_user://...).
	// +listType=set
	// +optional
	PrincipalIDs []string `json:"principalIds,omitempty"`
	// Enabled is false for a disabled user, whose tokens stop working at once.
	// +kubebuilder:default=true
	Enabled bool `json:"enabled"`
	// PasswordSecretRef names the Secret (in Herd's namespace) with the password hash.
	// +optional
	PasswordSecretRef string `json:"passwordSecretRef,omitempty"`
}

// User is a Herd user.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type User struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   UserSpec   `json:"spec"`
	Status UserStatus `json:"status,omitempty"`
}

// UserStatus is what the identity providers last said about the user.
type UserStatus struct {
	// GroupPrincipals are the user's groups (openldap_group://..., github_team://...)
	// as the identity provider reported them at the last login or refresh.
	// Bindings to these groups apply to the user.
	// +listType=set
	// +optional
	GroupPrincipals []string `json:"groupPrincipals,omitempty"`
	// GroupsRefreshedAt is when GroupPrincipals were last read from the provider.
	// +optional
	GroupsRefreshedAt *metav1.Time `json:"groupsRefreshedAt,omitempty"`
}

// UserList is a list of Users.
//
// +kubebuilder:object:root=true
type UserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []User `json:"items"`
}

// Token kinds.
const (
	TokenKindSession    = "session"
	TokenKindKubeconfig = "kubeconfig"
	// TokenKindBrowser is a web console session: accepted only as the
	// console's cookie, never as a bearer token.
	TokenKindBrowser = "browser"
)

// TokenSpec describes one API token. The token's secret is never stored:
// only a salted hash of it.
type TokenSpec struct {
	// UserName is the User the token acts as.
	// +kubebuilder:validation:MinLength=1
	UserName string `json:"userName"`
	// Kind is session, kubeconfig or browser (a web console session).
	// +kubebuilder:validation:Enum=session;kubeconfig;browser
	Kind string `json:"kind"`
	// Hash is the salted hash of the token's secret.
	Hash string `json:"hash"`
	// ExpiresAt ends the token's validity.
	ExpiresAt metav1.Time `json:"expiresAt"`
	// ClusterName, if set, scopes the token to one cluster: it is accepted
	// only by the proxy for that cluster and by its kube-api-auth.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// ClusterUID is the UID of the Cluster the token is scoped to, so that
	// a cluster made again under the same name does not accept it.
	// +optional
	ClusterUID string `json:"clusterUID,omitempty"`
	// Description says what the token is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
	// Enabled is false for a revoked token.
	// +kubebuilder:default=true
	Enabled bool `json:"enabled"`
}

// TokenStatus is what Herd records of a token's use.
type TokenStatus struct {
	// LastUsedAt is written at most once a minute.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
}

// Token is an API token of a user.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.userName`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.kind`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`
type Token struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TokenSpec   `json:"spec"`
	Status TokenStatus `json:"status,omitempty"`
}

// TokenList is a list of Tokens.
//
// +kubebuilder:object:root=true
type TokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Token `json:"items"`
}

func init() {
	SchemeBuilder.Register(&User{}, &UserList{}, &Token{}, &TokenList{})
}
