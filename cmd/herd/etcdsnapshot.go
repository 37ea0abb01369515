package main

import (
	"encoding/json"
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
	cmd.AddCommand(sync)
	return cmd
}
