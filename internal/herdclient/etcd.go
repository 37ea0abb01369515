package herdclient

import (
	"context"
	"net/http"

	"herd.dev/herd/internal/herdapi"
)

// Etcd is the part of the API about provisioned clusters' etcd:
// snapshots, their schedule and S3 store, and restores.
type Etcd struct{ c *Client }

// Etcd returns the etcd part of the API.
func (c *Client) Etcd() Etcd { return Etcd{c: c} }

func snapshotsPath(cluster string) (string, error) {
	path, err := clusterPath(cluster)
	return path + "/etcd/snapshots", err
}

// Save asks for a snapshot of a provisioned cluster's etcd.
func (e Etcd) Save(ctx context.Context, cluster string) (*herdapi.EtcdSnapshot, error) {
	path, err := snapshotsPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdSnapshot
	if err := e.c.do(ctx, http.MethodPost, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List lists a provisioned cluster's etcd snapshots.
func (e Etcd) List(ctx context.Context, cluster string) (*herdapi.EtcdSnapshotList, error) {
	path, err := snapshotsPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdSnapshotList
	if err := e.c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete deletes a snapshot and, soon after, its file.
func (e Etcd) Delete(ctx context.Context, cluster, name string) error {
	path, err := snapshotsPath(cluster)
	if err != nil {
		return err
	}
	seg, err := segment("snapshot", name)
	if err != nil {
		return err
	}
	return e.c.do(ctx, http.MethodDelete, path+"/"+seg, nil, nil)
}

// SetSchedule sets a provisioned cluster's snapshot schedule,
// or ends it (nil), and returns the cluster.
func (e Etcd) SetSchedule(ctx context.Context, cluster string, s *herdapi.EtcdSnapshotSchedule) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	method := http.MethodPut
	var body any = s
	if s == nil {
		method, body = http.MethodDelete, nil
	}
	var out herdapi.Cluster
	if err := e.c.do(ctx, method, path+"/etcd/schedule", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func restoresPath(cluster string) (string, error) {
	path, err := clusterPath(cluster)
	return path + "/etcd/restores", err
}

// Restore starts a restore of a provisioned cluster from one
// of its snapshots.
func (e Etcd) Restore(ctx context.Context, cluster, snapshot string) (*herdapi.EtcdRestore, error) {
	path, err := restoresPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdRestore
	if err := e.c.do(ctx, http.MethodPost, path, herdapi.EtcdRestoreRequest{Snapshot: snapshot}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRestores lists a provisioned cluster's restores, oldest first.
func (e Etcd) ListRestores(ctx context.Context, cluster string) (*herdapi.EtcdRestoreList, error) {
	path, err := restoresPath(cluster)
	if err != nil {
		return nil, err
	}
	var out herdapi.EtcdRestoreList
	if err := e.c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetS3 stores a provisioned cluster's snapshots also in S3 (nil: no
// more) and returns the cluster.
func (e Etcd) SetS3(ctx context.Context, cluster string, s *herdapi.EtcdS3) (*herdapi.Cluster, error) {
	path, err := clusterPath(cluster)
	if err != nil {
		return nil, err
	}
	method, body := http.MethodPut, any(s)
	if s == nil {
		method, body = http.MethodDelete, nil
	}
	var out herdapi.Cluster
	if err := e.c.do(ctx, method, path+"/etcd/s3", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
