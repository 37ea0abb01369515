package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

func restoresPath(cluster string) (string, error) {
	path, err := clusterPath(cluster)
	return path + "/etcd/restores", err
}

// RestoreEtcdSnapshot starts a restore of a provisioned cluster from one
// of its snapshots.
func (c *Client) RestoreEtcdSnapshot(ctx context.Context, cluster, snapshot string) (*herdapi.EtcdRestore, error) {
	path, err := restoresPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdRestore
	if err := c.do(ctx, http.MethodPost, path, herdapi.EtcdRestoreRequest{Snapshot: snapshot}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEtcdRestores lists a provisioned cluster's restores, oldest first.
func (c *Client) ListEtcdRestores(ctx context.Context, cluster string) (*herdapi.EtcdRestoreList, error) {
	path, err := restoresPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdRestoreList
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
