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

// SetEtcdS3 stores a provisioned cluster's snapshots also in S3 (nil: no
// more) and returns the cluster.
func (c *Client) SetEtcdS3(ctx context.Context, cluster string, s *herdapi.EtcdS3) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	method, body := http.MethodPut, any(s)
	if s == nil {
		method, body = http.MethodDelete, nil
	}
	var out herdapi.Cluster
	if err := c.do(ctx, method, path+"/etcd/s3", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
