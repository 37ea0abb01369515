// Package machinedriver creates and deletes the machines of provisioned
// clusters' machine pools. A driver makes a machine and starts its node
// agent with a registration token of the cluster; the node agent
// registers the machine, and its plans do the rest. The local driver's
// machines are `herd node-agent` processes on the server's host, each with
// its own folder and loopback address, as `../shared/provisioning.md`
// describes Rancher's drivers making VMs that run the system agent.
package machinedriver

import (
	"context"
	"errors"
)

// Request asks for one machine.
type Request struct {
	// Cluster, Pool and Hostname name the machine (Hostname is unique on
	// the server); ClusterUID tells a cluster from an earlier one of the
	// same name.
	Cluster, ClusterUID, Pool, Hostname string
	// Roles of the machine: etcd, control-plane, worker.
	Roles []string
	// Token is a registration token of the cluster; the node agent
	// exchanges it for the machine's own credential.
	Token string
}

// Machine is one machine a driver holds.
type Machine struct {
	Cluster, ClusterUID, Pool, Hostname string
	Roles                               []string
	// Address is the machine's IP address.
	Address string
	// Running: the machine's node agent runs.
	Running bool
}

// Driver creates and deletes machines.
type Driver interface {
	// Create makes a machine and starts its node agent.
	Create(ctx context.Context, req Request) (Machine, error)
	// Ensure starts the node agent of a machine that exists but does not
	// run (the host rebooted, the agent crashed).
	Ensure(ctx context.Context, m Machine) error
	// Delete stops the machine and removes it with everything on it.
	Delete(ctx context.Context, m Machine) error
	// List lists the machines of a cluster.
	List(ctx context.Context, cluster string) ([]Machine, error)
}

// ErrNoAddress: the driver has no free address for another machine.
var ErrNoAddress = errors.New("machinedriver: no free machine address")
