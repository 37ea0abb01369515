package etcdsnapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// RevisionBump is how far a restore moves etcd's revision on, past any
// revision a client of the cluster has seen; the restored revision is
// marked compacted, so that watchers from before get "too old" and list
// again instead of keeping stale caches (kubernetes#131115).
const RevisionBump = 1_000_000_000

// RestoreOptions say what to restore where.
type RestoreOptions struct {
	// Snapshot is the snapshot file; SHA256 its expected digest (empty:
	// not checked beyond etcd's own hash).
	Snapshot, SHA256 string
	// Name and PeerURL are the member's, as its etcd runs with them.
	Name, PeerURL string
	// DataDir is etcd's data folder, replaced by the snapshot's data (the
	// previous one kept beside it as DataDir.before-restore).
	DataDir string
	// ID names this restore: a second run with the same ID does nothing.
	ID string
	// S3, when set, has the snapshot if the machine does not.
	S3 *S3
}

// Restore replaces a stopped etcd member's data with a snapshot's, as
// the one member of a new cluster.
func Restore(o RestoreOptions) error {
	marker := o.DataDir + ".restored"
	if done, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(done)) == o.ID {
		return nil
	}
	if _, err := os.Stat(o.Snapshot); errors.Is(err, os.ErrNotExist) && o.S3 != nil {
		name := strings.TrimSuffix(filepath.Base(o.Snapshot), suffix)
		if err := o.S3.download(context.Background(), name, o.Snapshot); err != nil {
			return fmt.Errorf("etcdsnapshot: %w", err)
		}
	}
	if err := checkFile(o.Snapshot, o.SHA256); err != nil {
		return err
	}
	tmp := o.DataDir + ".restoring"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	err := snapshot.NewV3(zap.NewNop()).Restore(snapshot.RestoreConfig{
		SnapshotPath: o.Snapshot, Name: o.Name, OutputDataDir: tmp,
		PeerURLs: []string{o.PeerURL}, InitialCluster: o.Name + "=" + o.PeerURL, InitialClusterToken: "etcd-cluster",
		RevisionBump: RevisionBump, MarkCompacted: true,
	})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("etcdsnapshot: restore %s: %w", filepath.Base(o.Snapshot), err)
	}
	if _, err := os.Stat(o.DataDir); err == nil {
		// Only a data folder that is there moves aside: a run cut short
		// after this step keeps the first one's copy.
		old := o.DataDir + ".before-restore"
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(o.DataDir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, o.DataDir); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte(o.ID+"\n"), 0o600)
}

// checkFile refuses a missing snapshot or one whose SHA-256 is not want.
func checkFile(path, want string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("etcdsnapshot: snapshot %s is not on this machine", filepath.Base(path))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if want == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("etcdsnapshot: snapshot %s is corrupt: its SHA-256 is %s, it was taken as %s", filepath.Base(path), got, want)
	}
	return nil
}
