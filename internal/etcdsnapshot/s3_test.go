package etcdsnapshot_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/etcdsnapshot"
	"herd.dev/herd/internal/herdtest"
)

// TestS3: with a real S3 server (Versity's gateway over HTTPS with its
// own CA), kept snapshots are copied to the bucket's folder, the
// cluster's snapshots no longer kept are removed from it (others stay, and
// so do kept ones the machine lost), a restore takes a snapshot from S3
// when the machine lost it, and wrong
// credentials, an unknown CA, a missing bucket or no server are reported
// per file without failing the local snapshot.
func TestS3(t *testing.T) {
	ctx := context.Background()
	srv := herdtest.StartS3(t)
	srv.MakeBucket(t, "snaps")
	dir := t.TempDir()
	ca := filepath.Join(dir, "s3-ca.pem")
	if err := os.WriteFile(ca, []byte(srv.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	store := &etcdsnapshot.S3{Endpoint: srv.Endpoint, Bucket: "snaps", Folder: "etcd/c1", CAFile: ca, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	dataDir := filepath.Join(dir, "etcd-data")
	endpoint, peer, stop := etcdsnapshot.StartEtcdIn(t, dataDir, "")
	other := filepath.Join(srv.Dir, "snaps", "etcd", "c1", "c2-other.db")
	if err := os.MkdirAll(filepath.Dir(other), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("another cluster's"), 0o600); err != nil {
		t.Fatal(err)
	}
	snaps := filepath.Join(dir, "snapshots")
	sync := func(take string, keep ...string) etcdsnapshot.Report {
		t.Helper()
		r, err := etcdsnapshot.Sync(ctx, etcdsnapshot.SyncOptions{Endpoint: endpoint, Dir: snaps, Take: take, Keep: keep, S3: store, Prefix: "c1-"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	one := sync("c1-a")
	if len(one.Files) != 1 || one.Files[0].S3 != "s3://snaps/etcd/c1/c1-a.db" || one.Files[0].S3Error != "" {
		t.Fatalf("after c1-a: %+v", one)
	}
	inBucket := func(name string) bool {
		_, err := os.Stat(filepath.Join(srv.Dir, "snaps", "etcd", "c1", name+".db"))
		return err == nil
	}
	if !inBucket("c1-a") {
		t.Fatal("c1-a is not in the bucket")
	}
	sync("c1-b")
	if inBucket("c1-a") || !inBucket("c1-b") {
		t.Errorf("after c1-b without c1-a kept: a %v, b %v", inBucket("c1-a"), inBucket("c1-b"))
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another cluster's snapshot was removed from the bucket: %v", err)
	}

	for _, bad := range []struct {
		change func(*etcdsnapshot.S3)
		want   string
	}{
		{func(s *etcdsnapshot.S3) { s.SecretKey = "wrong" }, "refused the credentials"},
		{func(s *etcdsnapshot.S3) { s.CAFile = "" }, "unreachable or not S3"},
		{func(s *etcdsnapshot.S3) { s.Bucket = "nosuch" }, "has no bucket nosuch"},
		{func(s *etcdsnapshot.S3) { s.Endpoint = "127.0.0.1:1" }, "unreachable"},
	} {
		s := *store
		bad.change(&s)
		r, err := etcdsnapshot.Sync(ctx, etcdsnapshot.SyncOptions{Endpoint: endpoint, Dir: snaps, Keep: []string{"c1-b"}, S3: &s, Prefix: "c1-"})
		if err != nil || len(r.Files) != 1 || !strings.Contains(r.Files[0].S3Error, bad.want) || r.Files[0].S3 != "" {
			t.Errorf("S3 %+v: %+v %v, want the file with an S3 error saying %q", s, r, err, bad.want)
		}
	}

	stop()
	two := sync("", "c1-b") // etcd is not needed to keep
	if err := os.RemoveAll(snaps); err != nil {
		t.Fatal(err)
	}
	// The machine lost its copy: a sync that keeps it leaves it in S3.
	if lost := sync("", "c1-b"); len(lost.Files) != 0 || !inBucket("c1-b") {
		t.Fatalf("a sync keeping c1-b after the machine lost it: %+v, in the bucket %v", lost, inBucket("c1-b"))
	}
	o := etcdsnapshot.RestoreOptions{Snapshot: filepath.Join(snaps, "c1-b.db"), SHA256: two.Files[0].SHA256, Name: "test", PeerURL: peer, DataDir: dataDir, ID: "r"}
	if err := etcdsnapshot.Restore(o); err == nil || !strings.Contains(err.Error(), "not on this machine") {
		t.Errorf("restore without the file nor S3: %v", err)
	}
	o.S3 = store
	if err := etcdsnapshot.Restore(o); err != nil {
		t.Fatalf("restore from S3: %v", err)
	}
	o.ID, o.Snapshot = "r2", filepath.Join(snaps, "c1-gone.db")
	if err := etcdsnapshot.Restore(o); err == nil || !strings.Contains(err.Error(), "neither on this machine nor in s3://snaps/etcd/c1/c1-gone.db") {
		t.Errorf("restore of a snapshot nowhere: %v", err)
	}
}
