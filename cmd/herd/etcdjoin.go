package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/etcdjoin"
)

// newEtcdJoinCommand adds a machine's etcd member to its cluster's etcd
// before it first starts (a plan instruction of provisioned clusters).
func newEtcdJoinCommand() *cobra.Command {
	var endpoints, name, peerURL, out string
	cmd := &cobra.Command{
		Use:   "etcd-join",
		Short: "Add this machine's etcd member to a running etcd cluster and write its --initial-cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	return cmd
}
