// Package herdapi is the contract of Herd's own HTTP API under /v1: the
// JSON bodies that `herd server` reads and writes and that herdctl sends.
//
// Every request except login, /cacerts, /healthz, /readyz and the import
// manifest carries `Authorization: Bearer <token>`. Errors are Kubernetes
// metav1.Status objects with a generic message and the HTTP status in code.
//
//	POST   /v1/login                         LoginRequest -> 201 TokenResponse (401 bad credentials, 429 + Retry-After)
//	POST   /v1/logout                        -> 204, revokes the calling token
//	GET    /v1/me                            -> User
//	GET    /v1/users                         -> UserList            (admin)
//	POST   /v1/users                         UserCreateRequest -> 201 User (admin; 409 duplicate username)
//	GET    /v1/users/{username}              -> User                (admin or self)
//	PATCH  /v1/users/{username}              UserUpdateRequest -> User (admin)
//	DELETE /v1/users/{username}              -> 204                 (admin)
//	PUT    /v1/users/{username}/password     PasswordRequest -> 204 (admin, or self with currentPassword)
//	GET    /v1/tokens[?all=true]             -> TokenList  (own tokens; all=true: everyone's, admin)
//	GET    /v1/sessions[?cluster=C&user=U]    -> ExecSessionList (recorded exec sessions: own; everyone's with the global right to list execsessions)
//	GET    /v1/sessions/{name}                -> ExecSession
//	GET    /v1/sessions/{name}/recording      -> the asciicast v2 recording (application/x-asciicast)
//	POST   /v1/tokens                        TokenCreateRequest -> 201 TokenResponse
//	DELETE /v1/tokens/{name}                 -> 204 (own token, or admin)
//	GET    /v1/clusters                      -> ClusterList
//	POST   /v1/clusters                      ClusterCreateRequest -> 201 ClusterCreateResponse (admin)
//	GET    /v1/clusters/{name}               -> Cluster
//	DELETE /v1/clusters/{name}               -> 204 (admin)
//	POST   /v1/clusters/{name}/import        ImportRequest -> 201 ImportInfo (admin; new registration token)
//	GET    /v1/clusters/{name}/kubeconfig[?exec=true] -> kubeconfig YAML (a new cluster-scoped kubeconfig token, or herdctl token as exec plugin)
//	GET    /v1/roles                         -> RoleList (global roles and role templates)
//	GET    /v1/roles/{name}                  -> Role with its effective rules (a role template, else a global role)
//	GET    /v1/projects[?cluster=C]          -> ProjectList (projects the caller may see)
//	POST   /v1/projects                      ProjectCreateRequest -> 201 Project (admin, or create projects in the cluster)
//	GET    /v1/projects/{name}               -> Project
//	DELETE /v1/projects/{name}               -> 204 (namespaces leave the project; their bindings go)
//	POST   /v1/projects/{name}/namespaces    ProjectNamespaceRequest -> 200 Project (409: in another project)
//	DELETE /v1/projects/{name}/namespaces/{namespace} -> 204
//	GET    /v1/members?cluster=C | ?project=P -> MemberList (bindings of the cluster or project)
//	POST   /v1/members                       MemberRequest -> 201 Member (403 when it would grant more than the caller holds)
//	DELETE /v1/members/{name}                -> 204
//	GET    /v1/import/{token}.yaml           -> the import manifest (unauthenticated; the token is the key)
//	POST   /v1/agent/register                AgentRegistration -> 200 AgentRegistrationResponse (registration or agent token as bearer)
//	GET    /v1/connect                       the agent's tunnel (WebSocket; agent token as bearer)
//	*      /k8s/clusters/{id}/{path...}      the authenticating proxy to cluster id
package herdapi

import "time"

// Token kinds.
const (
	KindSession    = "session"
	KindKubeconfig = "kubeconfig"
)

// MaxBodyBytes is the largest request body the server reads.
const MaxBodyBytes = 64 << 10

// LoginRequest exchanges a username and password for a token.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Provider is local (default), openldap or activedirectory.
	Provider string `json:"provider,omitempty"`
	// Kind is session (default), kubeconfig, or browser: a web console
	// session, set as an HttpOnly cookie and answered as a ConsoleSession.
	Kind string `json:"kind,omitempty"`
	// TTLSeconds shortens the token's life; 0 means the kind's default.
	TTLSeconds int64 `json:"ttlSeconds,omitempty"`
	// Description says what the token is for.
	Description string `json:"description,omitempty"`
}

// TokenCreateRequest makes another token for the calling user.
type TokenCreateRequest struct {
	Kind        string `json:"kind,omitempty"`
	TTLSeconds  int64  `json:"ttlSeconds,omitempty"`
	Description string `json:"description,omitempty"`
	// ClusterName scopes the token to one cluster.
	ClusterName string `json:"clusterName,omitempty"`
}

// TokenResponse carries a new token. Token is shown once and never stored.
type TokenResponse struct {
	Token string    `json:"token"`
	Info  TokenInfo `json:"info"`
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	Name        string     `json:"name"`
	UserName    string     `json:"userName"`
	Username    string     `json:"username,omitempty"`
	Kind        string     `json:"kind"`
	ClusterName string     `json:"clusterName,omitempty"`
	Description string     `json:"description,omitempty"`
	Enabled     bool       `json:"enabled"`
	Expired     bool       `json:"expired"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	// Current is true for the token that made the request.
	Current bool `json:"current,omitempty"`
}

// TokenList is a list of tokens.
type TokenList struct {
	Items []TokenInfo `json:"items"`
}

// User is a Herd user as the API shows it.
type User struct {
	// Name is the User object's name (u-...), the id used in bindings.
	Name         string   `json:"name"`
	Username     string   `json:"username"`
	DisplayName  string   `json:"displayName,omitempty"`
	Enabled      bool     `json:"enabled"`
	PrincipalIDs []string `json:"principalIds,omitempty"`
	GlobalRoles  []string `json:"globalRoles,omitempty"`
	// Groups are the group principals the user's identity provider reported.
	Groups    []string  `json:"groups,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// UserList is a list of users.
type UserList struct {
	Items []User `json:"items"`
}

// UserCreateRequest makes a local user.
type UserCreateRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"displayName,omitempty"`
	Password    string `json:"password"`
	// GlobalRoles to bind; empty means the roles marked newUserDefault.
	GlobalRoles []string `json:"globalRoles,omitempty"`
}

// UserUpdateRequest changes the fields that are set.
type UserUpdateRequest struct {
	Enabled     *bool   `json:"enabled,omitempty"`
	DisplayName *string `json:"displayName,omitempty"`
}

// PasswordRequest sets a password. CurrentPassword is required when users
// change their own password.
type PasswordRequest struct {
	CurrentPassword string `json:"currentPassword,omitempty"`
	Password        string `json:"password"`
}

// Cluster is a downstream cluster as the API shows it.
type Cluster struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	Connected   string `json:"connected"`
	Ready       string `json:"ready"`
	Version     string `json:"version,omitempty"`
	NodeCount   int32  `json:"nodeCount"`
	// ConnectedAgents is how many agent replicas hold a tunnel.
	ConnectedAgents int32      `json:"connectedAgents"`
	LastSeen        *time.Time `json:"lastSeen,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	// Capacity, Allocatable and Requested are quantities ("4", "16Gi",
	// "110") keyed by cpu, memory and pods.
	Capacity    map[string]string `json:"capacity,omitempty"`
	Allocatable map[string]string `json:"allocatable,omitempty"`
	Requested   map[string]string `json:"requested,omitempty"`
	Nodes       []ClusterNode     `json:"nodes,omitempty"`
	// Message explains a Connected or Ready that is not True.
	Message string `json:"message,omitempty"`
	// Deleting is true while Herd cleans up in a deleted cluster.
	Deleting bool `json:"deleting,omitempty"`
	// MachinePools of a provisioned cluster.
	MachinePools []MachinePool `json:"machinePools,omitempty"`
	// Hosted: the provider that makes the cluster.
	Hosted *HostedCluster `json:"hosted,omitempty"`
	// EtcdSnapshots: a provisioned cluster's snapshot schedule.
	EtcdSnapshots *EtcdSnapshotSchedule `json:"etcdSnapshots,omitempty"`
	// AuthorizedEndpoint: the cluster's direct endpoint, when set.
	AuthorizedEndpoint *AuthorizedEndpoint `json:"authorizedEndpoint,omitempty"`
	// KubernetesVersion a provisioned cluster is to run (Version is what
	// its kube-apiserver answers).
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// EtcdS3: where a provisioned cluster's snapshots are also stored
	// (without the keys).
	EtcdS3 *EtcdS3 `json:"etcdS3,omitempty"`
	// Upgrade says where a provisioned cluster's upgrade is: "" when
	// every machine runs KubernetesVersion, else the machine being worked
	// on or why the change was refused.
	Upgrade string `json:"upgrade,omitempty"`
}

// ClusterNode is one node of a cluster.
type ClusterNode struct {
	Name           string   `json:"name"`
	Roles          []string `json:"roles,omitempty"`
	KubeletVersion string   `json:"kubeletVersion,omitempty"`
	Ready          bool     `json:"ready"`
}

// ClusterList is a list of clusters.
type ClusterList struct {
	Items []Cluster `json:"items"`
}

// ClusterCreateRequest makes a cluster to import.
type ClusterCreateRequest struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// KubernetesVersion, when set, makes a provisioned cluster: Herd
	// builds it on the machines that register with its registration
	// token (herd node-agent), instead of importing one.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// MachinePools of a provisioned cluster, whose machines a machine
	// driver makes.
	MachinePools []MachinePool `json:"machinePools,omitempty"`
	// Hosted makes a hosted provider create the cluster, which Herd then
	// imports by itself.
	Hosted *HostedCluster `json:"hosted,omitempty"`
	// EtcdSnapshots schedules snapshots of a provisioned cluster's etcd.
	EtcdSnapshots *EtcdSnapshotSchedule `json:"etcdSnapshots,omitempty"`
}

// EtcdSnapshotSchedule takes a snapshot every Interval ("6h", at least
// "1m") and keeps the newest Retention (1-100) of the scheduled ones.
type EtcdSnapshotSchedule struct {
	Interval  string `json:"interval"`
	Retention int32  `json:"retention"`
}

// HostedCluster is a cluster that a hosted provider makes.
type HostedCluster struct {
	// Provider: "local" (herd local-cluster on the server's host).
	Provider string `json:"provider"`
	// KubernetesVersion. Empty: the newest Herd supports.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Nodes (simulated) and RealNodes (which run Herd's agents). Zero: 1.
	Nodes     int32 `json:"nodes,omitempty"`
	RealNodes int32 `json:"realNodes,omitempty"`
}

// MachinePool is a set of like machines that a driver keeps at Quantity.
type MachinePool struct {
	Name     string   `json:"name"`
	Quantity int32    `json:"quantity"`
	Roles    []string `json:"roles"`
	// Driver: "local" (the default), machines as processes on the
	// server's host.
	Driver string `json:"driver,omitempty"`
}

// MachinePoolScaleRequest sets a pool's quantity.
type MachinePoolScaleRequest struct {
	Quantity int32 `json:"quantity"`
}

// ClusterCreateResponse is the new cluster and how to import it.
type ClusterCreateResponse struct {
	Cluster Cluster    `json:"cluster"`
	Import  ImportInfo `json:"import"`
}

// ImportRequest asks for a new registration token. Older tokens of the
// cluster stay valid for GracePeriodSeconds (default 3600; 0 keeps the
// default, negative ends them now).
type ImportRequest struct {
	GracePeriodSeconds int64 `json:"gracePeriodSeconds,omitempty"`
}

// ImportInfo says how to register a cluster. URL holds the registration
// token, so it is shown once.
type ImportInfo struct {
	URL       string    `json:"url"`
	Command   string    `json:"command"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// AgentRegistration is what a cluster agent reports at
// POST /v1/agent/register, authenticated with the cluster's registration
// token as bearer: how the server reaches the downstream kube-apiserver
// through the tunnel.
type AgentRegistration struct {
	// APIEndpoint is the kube-apiserver URL as the agent dials it.
	APIEndpoint string `json:"apiEndpoint"`
	// CACert is the PEM CA bundle of the kube-apiserver.
	CACert string `json:"caCert"`
	// Token is the agent's service account token; Herd stores it in a
	// Secret and uses it, with impersonation, for proxied requests.
	Token string `json:"token"`
	// NodeToken asks for a token for the cluster's node agents (their
	// fallback tunnel, nothing else).
	NodeToken bool `json:"nodeToken,omitempty"`
}

// AgentRegistrationResponse names the cluster the agent registered and
// gives it its agent token (a new one for a registration token, the same
// for an agent token), which the agent uses from then on instead of the
// registration token (which expires): for the tunnel and for registering
// again.
type AgentRegistrationResponse struct {
	ClusterName string `json:"clusterName"`
	AgentToken  string `json:"agentToken"`
	// NodeToken, when asked for: the node agents' token.
	NodeToken string `json:"nodeToken,omitempty"`
}

// NodeRegistration is what a node agent sends to register its machine
// (POST /v1/node/register, with the cluster's registration token).
type NodeRegistration struct {
	// Roles: etcd, control-plane, worker; at least one.
	Roles []string `json:"roles"`
	// Hostname names the machine and its node.
	Hostname string `json:"hostname"`
	// Address is the machine's IP address.
	Address string `json:"address"`
	// Labels and Taints ("key=value:Effect") go to the machine's node.
	Labels map[string]string `json:"labels,omitempty"`
	Taints []string          `json:"taints,omitempty"`
}

// NodeRegistered answers a node registration: the Machine's name and the
// credential with which the node agent reads its plan and reports back.
type NodeRegistered struct {
	MachineName string `json:"machineName"`
	ClusterName string `json:"clusterName"`
	Credential  string `json:"credential"`
}

// Plan is what a machine's node agent applies: files written under its
// root, one-time instructions run in order, processes kept running, and
// probes that say whether the machine works.
type Plan struct {
	Files        []PlanFile        `json:"files,omitempty"`
	Instructions []PlanInstruction `json:"instructions,omitempty"`
	Processes    []PlanProcess     `json:"processes,omitempty"`
	Probes       []PlanProbe       `json:"probes,omitempty"`
}

// PlanFile is a file of a plan. Path is relative to the machine's root.
type PlanFile struct {
	Path    string `json:"path"`
	Content []byte `json:"content"`
	Mode    uint32 `json:"mode,omitempty"`
}

// PlanInstruction is a command the node agent runs once per plan
// revision, in its root folder, until it succeeds or its tries run out.
type PlanInstruction struct {
	Name           string   `json:"name"`
	Command        string   `json:"command"`
	Args           []string `json:"args,omitempty"`
	Env            []string `json:"env,omitempty"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
}

// KubernetesVersionEnv, in the environment of a plan's instruction or
// process, picks the Kubernetes version whose binaries it runs: the node
// agent puts that version's folder first on its PATH.
const KubernetesVersionEnv = "HERD_KUBERNETES_VERSION"

// PlanProcess is a command the node agent keeps running while it is in
// the plan, restarting it when it exits.
type PlanProcess struct {
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
}

// PlanProbe is an HTTP(S) GET that passes with ExpectStatus (200 if 0).
// CACert (PEM) verifies an https URL; ClientCert and ClientKey are paths
// under the machine's root.
type PlanProbe struct {
	Name         string `json:"name"`
	URL          string `json:"url"`
	CACert       string `json:"caCert,omitempty"`
	ClientCert   string `json:"clientCert,omitempty"`
	ClientKey    string `json:"clientKey,omitempty"`
	ExpectStatus int    `json:"expectStatus,omitempty"`
}

// NodePlan answers GET /v1/node/plan: the machine's plan and its
// revision. No plan yet: 204.
type NodePlan struct {
	Revision string `json:"revision"`
	Plan     Plan   `json:"plan"`
}

// NodePlanStatus is what a node agent reports (PUT /v1/node/plan/status).
type NodePlanStatus struct {
	Revision          string          `json:"revision"`
	State             string          `json:"state"`
	Failures          int32           `json:"failures,omitempty"`
	FailedInstruction string          `json:"failedInstruction,omitempty"`
	Output            string          `json:"output,omitempty"`
	Probes            map[string]bool `json:"probes,omitempty"`
}

// Machine is a machine of a cluster as the API shows it.
type Machine struct {
	Name              string          `json:"name"`
	ClusterName       string          `json:"clusterName"`
	Hostname          string          `json:"hostname"`
	Address           string          `json:"address"`
	Roles             []string        `json:"roles"`
	PlanState         string          `json:"planState,omitempty"`
	PlanRevision      string          `json:"planRevision,omitempty"`
	AppliedRevision   string          `json:"appliedRevision,omitempty"`
	Failures          int32           `json:"failures,omitempty"`
	FailedInstruction string          `json:"failedInstruction,omitempty"`
	Output            string          `json:"output,omitempty"`
	Probes            map[string]bool `json:"probes,omitempty"`
	LastContact       *time.Time      `json:"lastContact,omitempty"`
	CreatedAt         time.Time       `json:"createdAt"`
}

// MachineList is a cluster's machines.
type MachineList struct {
	Items []Machine `json:"items"`
}

// EtcdSnapshot is a snapshot of a provisioned cluster's etcd.
type EtcdSnapshot struct {
	Name        string `json:"name"`
	ClusterName string `json:"clusterName"`
	// Phase: Pending, Succeeded or Failed (Message says why).
	Phase string `json:"phase"`
	// Machine holds the file, at Location under its node agent's root.
	Machine           string     `json:"machine,omitempty"`
	Location          string     `json:"location,omitempty"`
	S3Location        string     `json:"s3Location,omitempty"`
	Size              int64      `json:"size,omitempty"`
	SHA256            string     `json:"sha256,omitempty"`
	KubernetesVersion string     `json:"kubernetesVersion,omitempty"`
	TakenAt           *time.Time `json:"takenAt,omitempty"`
	CreatedAt         time.Time  `json:"createdAt"`
	Message           string     `json:"message,omitempty"`
}

// EtcdSnapshotList lists a cluster's snapshots, oldest first.
type EtcdSnapshotList struct {
	Items []EtcdSnapshot `json:"items"`
}

// AuthorizedEndpoint turns a cluster's direct endpoint on or off; FQDN
// (HOST[:PORT]) and CACerts (PEM) name a load balancer in front of its
// control planes, else the kube-apiserver the agent reports is used.
type AuthorizedEndpoint struct {
	Enabled bool   `json:"enabled"`
	FQDN    string `json:"fqdn,omitempty"`
	CACerts string `json:"caCerts,omitempty"`
}

// ClusterUpgrade changes a provisioned cluster's Kubernetes version:
// control planes one at a time, then workers, WorkerConcurrency at a time
// (0: one; kept when not given), each drained first.
type ClusterUpgrade struct {
	KubernetesVersion string `json:"kubernetesVersion"`
	WorkerConcurrency int32  `json:"workerConcurrency,omitempty"`
}

// EtcdRestoreRequest asks to put a provisioned cluster back to one of
// its snapshots.
type EtcdRestoreRequest struct {
	Snapshot string `json:"snapshot"`
}

// EtcdRestore is one restore of a cluster's etcd: Phase Pending,
// InProgress (Step StopControlPlanes, RestoreEtcd, Restart), Succeeded or
// Failed; Message says what it waits for or why it failed.
type EtcdRestore struct {
	Name        string     `json:"name"`
	ClusterName string     `json:"clusterName"`
	Snapshot    string     `json:"snapshot"`
	Phase       string     `json:"phase"`
	Step        string     `json:"step,omitempty"`
	Message     string     `json:"message,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
}

// EtcdRestoreList lists a cluster's restores, oldest first.
type EtcdRestoreList struct {
	Items []EtcdRestore `json:"items"`
}

// EtcdS3 is where a provisioned cluster's etcd snapshots are also
// stored. AccessKey and SecretKey are sent, stored in a Secret, and never
// answered.
type EtcdS3 struct {
	// Endpoint: HOST[:PORT] (HTTPS), or an http:// or https:// URL.
	Endpoint      string `json:"endpoint"`
	Bucket        string `json:"bucket"`
	Region        string `json:"region,omitempty"`
	Folder        string `json:"folder,omitempty"`
	EndpointCA    string `json:"endpointCA,omitempty"`
	SkipTLSVerify bool   `json:"skipTLSVerify,omitempty"`
	AccessKey     string `json:"accessKey,omitempty"`
	SecretKey     string `json:"secretKey,omitempty"`
}

// ConsoleSession is the web console's session: its user, the CSRF token
// that requests changing something carry in X-Herd-CSRF, and its end.
type ConsoleSession struct {
	User      User      `json:"user"`
	CSRFToken string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ExecSession is the record of one recorded exec or attach session.
type ExecSession struct {
	Name string `json:"name"`
	// User is the user's id, Username their login name.
	User             string     `json:"user"`
	Username         string     `json:"username,omitempty"`
	ImpersonatedUser string     `json:"impersonatedUser,omitempty"`
	Cluster          string     `json:"cluster"`
	Namespace        string     `json:"namespace"`
	Pod              string     `json:"pod"`
	Container        string     `json:"container,omitempty"`
	Kind             string     `json:"kind"`
	Command          []string   `json:"command,omitempty"`
	TTY              bool       `json:"tty,omitempty"`
	Stdin            bool       `json:"stdin,omitempty"`
	Input            bool       `json:"input,omitempty"`
	Source           string     `json:"source,omitempty"`
	StartedAt        time.Time  `json:"startedAt"`
	EndedAt          *time.Time `json:"endedAt,omitempty"`
	// Phase is Recording or Ended.
	Phase     string `json:"phase"`
	Bytes     int64  `json:"bytes"`
	Truncated bool   `json:"truncated,omitempty"`
	LostBytes int64  `json:"lostBytes,omitempty"`
}

// ExecSessionList is the answer of GET /v1/sessions, newest first.
type ExecSessionList struct {
	Items []ExecSession `json:"items"`
}
