package etcdsnapshot

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// startEtcd runs a one-member etcd on loopback until the test ends.
func startEtcd(t *testing.T) string {
	t.Helper()
	client, _, _ := startEtcdIn(t, filepath.Join(t.TempDir(), "etcd"), "")
	return client
}

func freeURL(t *testing.T) url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return url.URL{Scheme: "http", Host: ln.Addr().String()}
}

// TestSync: a snapshot taken from a real etcd holds its keys (its size
// and SHA-256 reported), is not taken twice, and goes when it is no longer
// kept; other files stay; bad names are refused.
func TestSync(t *testing.T) {
	ctx := context.Background()
	endpoint := startEtcd(t)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		if _, err := c.Put(ctx, "/registry/k"+string(rune('a'+i%26)), strings.Repeat("v", 1000)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "snapshots")
	one, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: dir, Take: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Files) != 1 || one.Files[0].Name != "c-1" || one.Files[0].Size < 20_000 || len(one.Files[0].SHA256) != 64 {
		t.Fatalf("after taking c-1: %+v", one)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	two, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: dir, Take: "c-2", Keep: []string{"c-1"}})
	if err != nil || len(two.Files) != 2 || two.Files[0] != one.Files[0] {
		t.Fatalf("after taking c-2: %+v %v; want c-1 unchanged and c-2", two, err)
	}
	again, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: dir, Take: "c-2", Keep: []string{"c-1"}})
	if err != nil || len(again.Files) != 2 || again.Files[1] != two.Files[1] {
		t.Errorf("c-2 was taken again: %+v %v", again, err)
	}
	left, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: dir, Keep: []string{"c-2"}})
	if err != nil || len(left.Files) != 1 || left.Files[0].Name != "c-2" {
		t.Errorf("after dropping c-1: %+v %v", left, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file that is not a snapshot was removed: %v", err)
	}
	for _, bad := range []string{"../x", "A", "a/b"} {
		if _, err := Sync(ctx, SyncOptions{Endpoint: endpoint, Dir: dir, Take: bad}); err == nil {
			t.Errorf("snapshot name %q accepted", bad)
		}
	}
}
