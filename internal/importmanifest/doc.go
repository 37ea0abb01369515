// Package importmanifest renders the YAML manifest that registers a
// downstream cluster with the Herd server, served at
// GET /v1/import/<token>.yaml and applied in the downstream cluster with
// `kubectl apply -f`. Like Rancher's cattle-cluster-agent import YAML, it
// installs the herd-system namespace, the agents' service accounts and RBAC,
// a Secret holding the registration credentials, the cluster agent
// Deployment and Service, the node agent DaemonSet (which holds the fallback
// tunnel with the node agents' token that the cluster agent stores in
// herd-node-credentials), and the kube-api-auth DaemonSet that checks Herd
// tokens for the authorized cluster endpoint.
//
// The registration token is a credential: it appears in the Secret only, and
// every other object refers to it with a secretKeyRef.
package importmanifest
