// Package clusterstatus keeps a downstream cluster's Cluster status up to
// date: its Ready condition, Kubernetes version, nodes, and the capacity,
// allocatable and requested CPU, memory and pods summed over the cluster.
//
// The server runs one Controller per cluster whose agent tunnel is up on
// its replica, with a kubernetes.Interface that reaches the downstream
// kube-apiserver through the tunnel, for as long as the tunnel stays up.
//
// Nodes and pods are watched with informers whose transform keeps only what
// the sums need, so 5,000 pods cost little memory. Events only mark the
// status dirty; a flush loop recomputes the sums from the informer stores
// and writes at most once per Config.MinInterval, and only when something
// changed or the heartbeat (lastSeen) is due. /readyz is probed on its own
// interval. The Writer records the result; ManagementWriter does that with
// server-side apply on the management cluster, owning only its own fields
// so that the server's Connected condition is left alone.
package clusterstatus
