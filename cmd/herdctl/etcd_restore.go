package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// restorePoll is how often `etcd snapshot restore --wait` looks.
const restorePoll = 2 * time.Second

func newSnapshotRestoreCommand(a *app) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use: "restore CLUSTER SNAPSHOT [--wait DURATION]", Short: "Put the cluster back to a snapshot", Args: needArgs("CLUSTER", "SNAPSHOT"),
		Long: `Put the cluster back to a snapshot of its etcd: every control plane stops, etcd's data is replaced by
the snapshot's (its revision moved on and marked compacted, so that clients watching the cluster list it
again), then etcd and the control planes start. Everything written after the snapshot is gone. The cluster
does not answer while it runs. One restore runs at a time, and none during an upgrade. With --wait,
herdctl shows each step until the restore ends.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			r, err := s.client.Etcd().Restore(cmd.Context(), args[0], args[1])
			if err != nil {
				return explain(err, s.cfg, action{what: "restore cluster " + args[0] + " from snapshot " + args[1], kind: "cluster", name: args[0]})
			}
			if wait > 0 {
				if r, err = a.awaitRestore(cmd.Context(), s.client, r, wait); err != nil {
					return err
				}
			}
			return a.print(r, func(w io.Writer) {
				switch r.Phase {
				case "Succeeded":
					fmt.Fprintf(w, "cluster %s runs from snapshot %s (restore %s)\n", r.ClusterName, r.Snapshot, r.Name)
				default:
					fmt.Fprintf(w, "restore %s of cluster %s from snapshot %s: %s; see `herdctl etcd restore list %s`\n", r.Name, r.ClusterName, r.Snapshot, r.Phase, r.ClusterName)
				}
			})
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait this long for the restore to end, showing its steps")
	return cmd
}

// awaitRestore follows r until it ends or wait passes; a restore that
// failed is an error.
func (a *app) awaitRestore(ctx context.Context, c *herdclient.Client, r *herdapi.EtcdRestore, wait time.Duration) (*herdapi.EtcdRestore, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	shown := ""
	for {
		list, err := c.Etcd().ListRestores(ctx, r.ClusterName)
		if err == nil {
			for i := range list.Items {
				if list.Items[i].Name == r.Name {
					r = &list.Items[i]
				}
			}
		}
		if step := r.Phase + " " + r.Step; step != shown && a.tableMode() {
			fmt.Fprintf(a.stderr, "%s: %s %s\n", r.Name, r.Phase, r.Step)
			shown = step
		}
		switch r.Phase {
		case "Succeeded":
			return r, nil
		case "Failed":
			return r, fmt.Errorf("restore %s failed: %s", r.Name, r.Message)
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("restore %s has not ended after %s (%s %s: %s); `herdctl etcd restore list %s` follows it", r.Name, wait, r.Phase, r.Step, r.Message, r.ClusterName)
		case <-time.After(restorePoll):
		}
	}
}

func newRestoreListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list CLUSTER", Aliases: []string{"ls"}, Short: "List the cluster's restores, oldest first", Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.Etcd().ListRestores(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "list the restores of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(list, func(w io.Writer) {
				row(w, "NAME", "SNAPSHOT", "PHASE", "STEP", "STARTED", "MESSAGE")
				for _, r := range list.Items {
					started, step := "-", r.Step
					if r.StartedAt != nil {
						started = age(*r.StartedAt, a.now()) + " ago"
					}
					if step == "" {
						step = "-"
					}
					row(w, r.Name, r.Snapshot, r.Phase, step, started, r.Message)
				}
			})
		},
	}
}
