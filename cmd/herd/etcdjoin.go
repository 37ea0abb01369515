package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/etcdjoin"
)

// newEtcdJoinCommand adds a machine's etcd member to its cluster's etcd
// before it first starts (a plan instruction of provisioned clusters).
func newEtcdJoinCommand() *cobra.Command {
	var endpoints, name, peerURL, out, dataDir string
	cmd := &cobra.Command{
		Use:   "etcd-join",
		Short: "Add this machine's etcd member to a running etcd cluster and write its --initial-cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if joined(dataDir, out) {
				// The plan is applied again (another revision): the member
				// is in the cluster already, and the endpoints it joined
				// through may be gone.
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "member %s joined before (%s holds its data): nothing to do\n", name, dataDir)
				return err
			}
			initial, err := etcdjoin.Join(cmd.Context(), strings.Split(endpoints, ","), name, peerURL)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), initial)
				return err
			}
			return certs.WriteFileAtomic(out, []byte(initial), 0o600)
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoints, "endpoints", "", "client URLs of the running members (comma-separated)")
	f.StringVar(&name, "name", "", "the new member's name")
	f.StringVar(&peerURL, "peer-url", "", "the new member's peer URL")
	f.StringVar(&out, "out", "", "write the initial cluster to this file (default: standard output)")
	f.StringVar(&dataDir, "data-dir", "", "the member's etcd data folder: when it holds a member and --out exists, the member has joined and nothing is done")
	return cmd
}

// joined reports whether the member of dataDir has joined before: etcd
// wrote its member folder, and the initial cluster it started with is in
// out.
func joined(dataDir, out string) bool {
	if dataDir == "" || out == "" {
		return false
	}
	wal, err := os.Stat(filepath.Join(dataDir, "member", "wal"))
	if err != nil || !wal.IsDir() {
		return false
	}
	_, err = os.Stat(out)
	return err == nil
}
