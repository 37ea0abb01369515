package herdclient

import (
	"context"
	"net/http"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/herdapi"
)

// ListClusters returns the clusters the caller may see.
func (c *Client) ListClusters(ctx context.Context) (*herdapi.ClusterList, error) {
	var out herdapi.ClusterList
	if err := c.do(ctx, http.MethodGet, "/v1/clusters", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateCluster makes a cluster to import and returns how to import it
// (admin).
func (c *Client) CreateCluster(ctx context.Context, req herdapi.ClusterCreateRequest) (*herdapi.ClusterCreateResponse, error) {
	var out herdapi.ClusterCreateResponse
	if err := c.do(ctx, http.MethodPost, "/v1/clusters", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCluster returns a cluster by name.
func (c *Client) GetCluster(ctx context.Context, name string) (*herdapi.Cluster, error) {
	path, err := clusterPath(name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Cluster
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCluster removes a cluster (admin). It returns the server's note
// when the cleanup in the cluster waits for its agent (202), else "".
// With force, Herd does not wait to clean up in the cluster.
func (c *Client) DeleteCluster(ctx context.Context, name string, force bool) (string, error) {
	path, err := clusterPath(name)
	if err != nil {
		return "", err
	}
	if force {
		path += "?force=true"
	}
	var status metav1.Status
	if err := c.do(ctx, http.MethodDelete, path, nil, &status); err != nil {
		return "", err
	}
	return status.Message, nil
}

// ImportCluster makes a new registration token for a cluster and returns
// the import command that carries it (admin).
func (c *Client) ImportCluster(ctx context.Context, name string, req herdapi.ImportRequest) (*herdapi.ImportInfo, error) {
	path, err := clusterPath(name)
	if err != nil {
		return nil, err
	}
	var out herdapi.ImportInfo
	if err := c.do(ctx, http.MethodPost, path+"/import", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func clusterPath(name string) (string, error) {
	seg, err := segment("cluster", name)
	return "/v1/clusters/" + seg, err
}

// Kubeconfig returns a kubeconfig (YAML) that reaches the cluster through
// Herd: with a new cluster-scoped token, or with exec, `herdctl token`.
func (c *Client) Kubeconfig(ctx context.Context, name string, exec bool) ([]byte, error) {
	return c.KubeconfigWith(ctx, name, KubeconfigOptions{Exec: exec})
}

// KubeconfigOptions choose what a kubeconfig holds.
type KubeconfigOptions struct {
	// Exec uses `herdctl token` instead of an embedded token.
	Exec bool
	// Direct makes the direct context (the cluster's authorized endpoint) current.
	Direct bool
}

// KubeconfigWith returns a kubeconfig for a cluster.
func (c *Client) KubeconfigWith(ctx context.Context, name string, opts KubeconfigOptions) ([]byte, error) {
	path, err := clusterPath(name)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts.Exec {
		q.Set("exec", "true")
	}
	if opts.Direct {
		q.Set("direct", "true")
	}
	path += "/kubeconfig"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []byte
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListMachines lists a cluster's machines (its administrators).
func (c *Client) ListMachines(ctx context.Context, cluster string) (*herdapi.MachineList, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.MachineList
	if err := c.do(ctx, http.MethodGet, path+"/machines", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetMachinePool adds a machine pool to a provisioned cluster or sets an
// existing pool's quantity, and returns the cluster.
func (c *Client) SetMachinePool(ctx context.Context, cluster string, pool herdapi.MachinePool) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	seg, err := segment("machine pool", pool.Name)
	if err != nil {
		return nil, err
	}
	var out herdapi.Cluster
	if err := c.do(ctx, http.MethodPut, path+"/machinepools/"+seg, pool, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetAuthorizedEndpoint turns a cluster's direct endpoint on or off.
func (c *Client) SetAuthorizedEndpoint(ctx context.Context, cluster string, e herdapi.AuthorizedEndpoint) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.Cluster
	if err := c.do(ctx, http.MethodPut, path+"/authorized-endpoint", e, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Upgrade changes a provisioned cluster's Kubernetes version.
func (c *Client) Upgrade(ctx context.Context, cluster string, u herdapi.ClusterUpgrade) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.Cluster
	if err := c.do(ctx, http.MethodPut, path+"/kubernetes-version", u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
