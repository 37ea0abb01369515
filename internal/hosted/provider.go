// Package hosted lets a hosted provider make whole clusters, as EKS, GKE
// and AKS drivers do for Rancher: Herd asks the provider for the cluster,
// gets its admin kubeconfig, and imports it by applying its own import
// manifest there (the agents then register and connect as in any
// imported cluster). Deleting the Cluster deletes the provider's cluster.
// The first provider is `herd local-cluster` on the server's host.
package hosted

import (
	"context"
	"errors"

	v1 "herd.dev/herd/api/v1"
)

// Provider makes, upgrades and deletes clusters.
type Provider interface {
	// Ensure makes the cluster if it does not exist, starts it if it is
	// stopped, and returns its admin kubeconfig once it is usable. uid
	// tells the Cluster from an earlier one of the same name, whose
	// provider cluster is replaced.
	Ensure(ctx context.Context, name, uid string, spec v1.ClusterHosted) ([]byte, error)
	// Upgrade changes the cluster's Kubernetes version.
	Upgrade(ctx context.Context, name, version string) error
	// Delete deletes the cluster and everything of it; a cluster that
	// does not exist is done.
	Delete(ctx context.Context, name string) error
	// List names the provider's clusters.
	List(ctx context.Context) ([]string, error)
}

// ErrUnsupported: the provider cannot do what was asked.
var ErrUnsupported = errors.New("hosted: not supported by the provider")
