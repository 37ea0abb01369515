package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"herd.dev/herd/internal/etcdsnapshot"
)

// newEtcdSnapshotCommand keeps a machine's etcd snapshots (a plan
// instruction of provisioned clusters' first etcd member).
func newEtcdSnapshotCommand() *cobra.Command {
	var o etcdsnapshot.SyncOptions
	var keep string
	s3 := &s3Flags{}
	cmd := &cobra.Command{
		Use:   "etcd-snapshot",
		Short: "Keep this machine's etcd snapshots (a plan instruction)",
	}
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Take --take from the etcd at --endpoint into --dir, remove the snapshots not in --keep, and print what --dir holds as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keep != "" {
				o.Keep = strings.Split(keep, ",")
			}
			o.S3 = s3.store()
			report, err := etcdsnapshot.Sync(cmd.Context(), o)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(report)
		},
	}
	f := sync.Flags()
	f.StringVar(&o.Endpoint, "endpoint", "", "client URL of the etcd member to save")
	f.StringVar(&o.Dir, "dir", "snapshots", "the folder of the snapshots")
	f.StringVar(&o.Take, "take", "", "the snapshot to take, unless it is there")
	f.StringVar(&keep, "keep", "", "the snapshots to keep (comma-separated); others are removed")
	f.StringVar(&o.Prefix, "s3-prefix", "", "the start of the names of this cluster's snapshots: those in S3 not kept are removed")
	s3.register(f)
	cmd.AddCommand(sync, newEtcdRestoreCommand())
	return cmd
}

// newEtcdRestoreCommand replaces the stopped etcd member's data with a
// snapshot's (a plan instruction of a restore).
func newEtcdRestoreCommand() *cobra.Command {
	var o etcdsnapshot.RestoreOptions
	s3 := &s3Flags{}
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Replace this machine's stopped etcd member's data (--data-dir) with --snapshot's, revision bumped and compacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Snapshot == "" || o.Name == "" || o.PeerURL == "" || o.ID == "" {
				return fmt.Errorf("--snapshot, --name, --peer-url and --id are required")
			}
			o.S3 = s3.store()
			if err := etcdsnapshot.Restore(o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s (restore %s)\n", o.Snapshot, o.DataDir, o.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Snapshot, "snapshot", "", "the snapshot file")
	f.StringVar(&o.SHA256, "sha256", "", "the snapshot's SHA-256, as it was taken")
	f.StringVar(&o.Name, "name", "", "the etcd member's name")
	f.StringVar(&o.PeerURL, "peer-url", "", "the etcd member's peer URL")
	f.StringVar(&o.DataDir, "data-dir", "etcd-data", "etcd's data folder")
	f.StringVar(&o.ID, "id", "", "the restore's name: run again, it does nothing")
	s3.register(f)
	return cmd
}

// s3Flags are the S3 store of snapshots; its credentials come from the
// environment (etcdsnapshot.EnvS3AccessKey, EnvS3SecretKey).
type s3Flags struct{ s etcdsnapshot.S3 }

func (s *s3Flags) register(f *pflag.FlagSet) {
	f.StringVar(&s.s.Endpoint, "s3-endpoint", "", "S3 endpoint (host[:port], HTTPS; or an http:// URL); empty: no S3")
	f.StringVar(&s.s.Bucket, "s3-bucket", "", "the S3 bucket")
	f.StringVar(&s.s.Region, "s3-region", "", "the S3 region")
	f.StringVar(&s.s.Folder, "s3-folder", "", "the folder in the bucket")
	f.StringVar(&s.s.CAFile, "s3-ca-file", "", "PEM CA of the S3 endpoint's certificate")
	f.BoolVar(&s.s.SkipVerify, "s3-skip-verify", false, "do not verify the S3 endpoint's certificate")
}

// store is the S3 store the flags name, or nil.
func (s *s3Flags) store() *etcdsnapshot.S3 {
	if s.s.Endpoint == "" {
		return nil
	}
	out := s.s
	out.AccessKey, out.SecretKey = os.Getenv(etcdsnapshot.EnvS3AccessKey), os.Getenv(etcdsnapshot.EnvS3SecretKey)
	return &out
}
