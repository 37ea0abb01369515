package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/etcdsnapshot"
)

// newEtcdSnapshotCommand keeps a machine's etcd snapshots (a plan
// instruction of provisioned clusters' first etcd member).
func newEtcdSnapshotCommand() *cobra.Command {
	var endpoint, dir, take, keep string
	cmd := &cobra.Command{
		Use:   "etcd-snapshot",
		Short: "Keep this machine's etcd snapshots (a plan instruction)",
	}
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Take --take from the etcd at --endpoint into --dir, remove the snapshots not in --keep, and print what --dir holds as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			if keep != "" {
				names = strings.Split(keep, ",")
			}
			report, err := etcdsnapshot.Sync(cmd.Context(), endpoint, dir, take, names)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(report)
		},
	}
	f := sync.Flags()
	f.StringVar(&endpoint, "endpoint", "", "client URL of the etcd member to save")
	f.StringVar(&dir, "dir", "snapshots", "the folder of the snapshots")
	f.StringVar(&take, "take", "", "the snapshot to take, unless it is there")
	f.StringVar(&keep, "keep", "", "the snapshots to keep (comma-separated); others are removed")
	cmd.AddCommand(sync, newEtcdRestoreCommand())
	return cmd
}

// newEtcdRestoreCommand replaces the stopped etcd member's data with a
// snapshot's (a plan instruction of a restore).
func newEtcdRestoreCommand() *cobra.Command {
	var o etcdsnapshot.RestoreOptions
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Replace this machine's stopped etcd member's data (--data-dir) with --snapshot's, revision bumped and compacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Snapshot == "" || o.Name == "" || o.PeerURL == "" || o.ID == "" {
				return fmt.Errorf("--snapshot, --name, --peer-url and --id are required")
			}
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
	return cmd
}
