package etcdsnapshot

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// TestRestore: a snapshot restored into a member's data folder holds the
// keys from before it, not those written after; the revision is bumped
// and a watch from an older revision is refused as compacted; a second
// run of the same restore does nothing; a corrupt or missing snapshot is
// refused and the data folder left as it was.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "etcd-data")
	endpoint, peer, stop := startEtcdIn(t, dataDir, "")
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "/registry/a", "before"); err != nil {
		t.Fatal(err)
	}
	report, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: filepath.Join(dir, "snapshots"), Take: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Put(ctx, "/registry/b", "after")
	if err != nil {
		t.Fatal(err)
	}
	seen := after.Header.Revision
	_ = c.Close()
	stop()

	snap := filepath.Join(dir, "snapshots", "s-1.db")
	opts := RestoreOptions{Snapshot: snap, SHA256: report.Files[0].SHA256, Name: "test", PeerURL: peer, DataDir: dataDir, ID: "r-1"}
	for _, bad := range []struct {
		change func(*RestoreOptions)
		want   string
	}{
		{func(o *RestoreOptions) { o.SHA256 = strings.Repeat("0", 64) }, "is corrupt"},
		{func(o *RestoreOptions) { o.Snapshot = filepath.Join(dir, "snapshots", "gone.db") }, "is not on this machine"},
	} {
		o := opts
		bad.change(&o)
		if err := Restore(o); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("restore: %v, want %q", err, bad.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "member")); err != nil {
		t.Fatalf("a refused restore touched the data folder: %v", err)
	}
	if err := Restore(opts); err != nil {
		t.Fatal(err)
	}
	if err := Restore(opts); err != nil {
		t.Fatalf("the same restore again: %v", err)
	}
	if _, err := os.Stat(dataDir + ".before-restore"); err != nil {
		t.Errorf("the data from before the restore was not kept: %v", err)
	}

	endpoint, _, _ = startEtcdIn(t, dataDir, peer)
	c, err = clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Get(ctx, "/registry/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Key) != "/registry/a" {
		t.Errorf("restored keys %v, want /registry/a alone", got.Kvs)
	}
	if got.Header.Revision <= seen || got.Header.Revision < RevisionBump {
		t.Errorf("revision %d after the restore, want past %d and %d", got.Header.Revision, seen, RevisionBump)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w := <-c.Watch(wctx, "/registry/", clientv3.WithPrefix(), clientv3.WithRev(seen))
	if w.CompactRevision == 0 {
		t.Errorf("a watch from revision %d was not refused as compacted: %+v", seen, w)
	}
}

// startEtcdIn runs a one-member etcd with its data in dataDir, on peer
// (empty: a free port), until stop (or the test's end).
func startEtcdIn(t *testing.T, dataDir, peerURL string) (client, peer string, stop func()) {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "test", dataDir
	c, p := freeURL(t), freeURL(t)
	if peerURL != "" {
		u, err := url.Parse(peerURL)
		if err != nil {
			t.Fatal(err)
		}
		p = *u
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{c}, []url.URL{c}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{p}, []url.URL{p}
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			e.Close()
		}
	}
	t.Cleanup(stop)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd not ready")
	}
	return c.String(), p.String(), stop
}
