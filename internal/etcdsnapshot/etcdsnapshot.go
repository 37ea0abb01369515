// Package etcdsnapshot keeps a machine's etcd snapshots: it takes the one
// asked for through the etcd client's snapshot stream, removes the files
// no longer wanted, and lists what is there, for `herd etcd-snapshot sync`,
// which the planner puts in the plan of a provisioned cluster's first etcd
// member. The planner reads the list from the instruction's output.
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
	"regexp"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// File is one snapshot on the machine.
type File struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	TakenAt time.Time `json:"takenAt"`
	// S3 is where the snapshot is in S3 (s3://BUCKET/KEY), when S3 is
	// configured and the upload worked; S3Error says why it did not.
	S3      string `json:"s3,omitempty"`
	S3Error string `json:"s3Error,omitempty"`
}

// SyncOptions say what Sync does.
type SyncOptions struct {
	// Endpoint is the client URL of the etcd member to save.
	Endpoint string
	// Dir holds the snapshots on the machine.
	Dir string
	// Take is the snapshot to take, unless it is there ("" none).
	Take string
	// Keep are the snapshots to keep; the others go (from S3 too: those
	// whose names start with Prefix, the cluster's).
	Keep []string
	// S3, when set, gets a copy of each snapshot kept.
	S3     *S3
	Prefix string
}

// Report is what sync prints: the snapshots on the machine.
type Report struct {
	Files []File `json:"files"`
}

const suffix = ".db"

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,251}[a-z0-9])?$`)

// Sync takes snapshot o.Take (unless empty, or there already) from the
// etcd at o.Endpoint into o.Dir, removes the snapshots of o.Dir that are
// neither taken nor kept, copies those left to S3 (if set) and removes
// the cluster's others from there (a kept snapshot this machine lost
// stays in S3), and reports what o.Dir holds. S3
// failures do not fail it: each file says whether it is in S3.
func Sync(ctx context.Context, o SyncOptions) (Report, error) {
	out, err := syncLocal(ctx, o.Endpoint, o.Dir, o.Take, o.Keep)
	if err != nil || o.S3 == nil {
		return out, err
	}
	c, err := o.S3.client()
	for i := range out.Files {
		f := &out.Files[i]
		if err == nil {
			err = o.S3.upload(ctx, c, filepath.Join(o.Dir, f.Name+suffix), f.Name)
		}
		if err != nil {
			f.S3Error = err.Error()
			continue
		}
		f.S3 = o.S3.Location(f.Name)
	}
	if err == nil && o.Prefix != "" {
		// What is kept stays in S3 even when this machine lost its copy:
		// S3 is where a restore finds it then.
		names := append([]string{o.Take}, o.Keep...)
		if err := o.S3.prune(ctx, c, o.Prefix, names); err != nil {
			fmt.Fprintln(os.Stderr, "etcdsnapshot:", err)
		}
	}
	return out, nil
}

func syncLocal(ctx context.Context, endpoint, dir, take string, keep []string) (Report, error) {
	for _, n := range append([]string{take}, keep...) {
		if n != "" && !nameRE.MatchString(n) {
			return Report{}, fmt.Errorf("etcdsnapshot: %q is not a snapshot name", n)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Report{}, err
	}
	if take != "" {
		if _, err := os.Stat(filepath.Join(dir, take+suffix)); errors.Is(err, os.ErrNotExist) {
			if err := save(ctx, endpoint, filepath.Join(dir, take+suffix)); err != nil {
				return Report{}, err
			}
		}
		keep = append(keep, take)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Report{}, err
	}
	out := Report{Files: []File{}}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !slices.Contains(keep, name) {
			if err := os.Remove(path); err != nil {
				return Report{}, err
			}
			continue
		}
		f, err := describe(path, name)
		if err != nil {
			return Report{}, err
		}
		out.Files = append(out.Files, f)
	}
	return out, nil
}

// save streams a snapshot of the etcd at endpoint into path (through a
// temporary file, so that path is whole or missing).
func save(ctx context.Context, endpoint, path string) error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rc, err := c.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("etcdsnapshot: snapshot of %s: %w", endpoint, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, rc); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("etcdsnapshot: snapshot of %s: %w", endpoint, err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func describe(path, name string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), TakenAt: fi.ModTime().UTC()}, nil
}

// Name is a new snapshot's name for cluster at t: names sort by time.
func Name(cluster string, t time.Time, suffix string) string {
	return cluster + "-" + t.UTC().Format("20060102-150405") + "-" + suffix
}
