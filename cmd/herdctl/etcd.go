package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newEtcdCommand(a *app) *cobra.Command {
	return group("etcd", "The etcd of provisioned clusters",
		group("snapshot", "Save, list, restore and delete etcd snapshots of a provisioned cluster (its administrators)",
			newSnapshotSaveCommand(a), newSnapshotListCommand(a), newSnapshotRestoreCommand(a), newSnapshotDeleteCommand(a), newSnapshotScheduleCommand(a)),
		group("restore", "The restores of a provisioned cluster's etcd", newRestoreListCommand(a)),
		newEtcdS3Command(a))
}

func newSnapshotSaveCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "save CLUSTER", Short: "Ask for a snapshot of the cluster's etcd", Args: needArgs("CLUSTER"),
		Long: `Ask for a snapshot of the cluster's etcd. The node agent of its first etcd member takes it and
keeps it on that machine; ` + "`herdctl etcd snapshot list`" + ` shows when it is there, its size and the Kubernetes
version it was taken at.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			snap, err := s.client.Etcd().Save(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "save an etcd snapshot of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(snap, func(w io.Writer) {
				fmt.Fprintf(w, "etcd snapshot %s requested; see `herdctl etcd snapshot list %s`\n", snap.Name, args[0])
			})
		},
	}
}

func newSnapshotListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list CLUSTER", Aliases: []string{"ls"}, Short: "List the cluster's etcd snapshots", Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.Etcd().List(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "list the etcd snapshots of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(list, func(w io.Writer) { a.snapshotTable(w, list.Items) })
		},
	}
}

func newSnapshotDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "delete CLUSTER SNAPSHOT", Aliases: []string{"rm"}, Short: "Delete a snapshot and its file", Args: needArgs("CLUSTER", "SNAPSHOT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := s.client.Etcd().Delete(cmd.Context(), args[0], args[1]); err != nil {
				return explain(err, s.cfg, action{what: "delete etcd snapshot " + args[1] + " of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "etcd snapshot %s deleted\n", args[1])
			return err
		},
	}
}

func (a *app) snapshotTable(w io.Writer, snaps []herdapi.EtcdSnapshot) {
	row(w, "NAME", "PHASE", "SIZE", "VERSION", "MACHINE", "S3", "TAKEN")
	now := a.now()
	for _, s := range snaps {
		size, taken, version, machine := "-", "-", s.KubernetesVersion, s.Machine
		if s.Size > 0 {
			size = strconv.FormatInt(s.Size, 10)
		}
		if s.TakenAt != nil {
			taken = age(*s.TakenAt, now) + " ago"
		}
		if version == "" {
			version = "-"
		}
		if machine == "" {
			machine = "-"
		}
		phase := s.Phase
		if s.Message != "" {
			phase += " (" + s.Message + ")"
		}
		s3 := s.S3Location
		if s3 == "" {
			s3 = "-"
		}
		row(w, s.Name, phase, size, version, machine, s3, taken)
	}
}

func newSnapshotScheduleCommand(a *app) *cobra.Command {
	var sched herdapi.EtcdSnapshotSchedule
	var off bool
	cmd := &cobra.Command{
		Use: "schedule CLUSTER (--interval DURATION --retention N | --off)", Short: "Take snapshots on a schedule, keeping the newest N",
		Args: needArgs("CLUSTER"),
		Long: `Take a snapshot of the cluster's etcd every --interval (like 6h; at least 1m) and keep the newest
--retention scheduled ones (older ones are deleted with their files); snapshots saved by hand are
neither counted nor deleted. --off ends the schedule.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if off == (sched.Interval != "") {
				return fmt.Errorf("give --interval and --retention, or --off")
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			req := &sched
			if off {
				req = nil
			}
			c, err := s.client.Etcd().SetSchedule(cmd.Context(), args[0], req)
			if err != nil {
				return explain(err, s.cfg, action{what: "set the etcd snapshot schedule of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) {
				if c.EtcdSnapshots == nil {
					fmt.Fprintf(w, "cluster %s takes no scheduled snapshots\n", c.Name)
					return
				}
				fmt.Fprintf(w, "cluster %s takes a snapshot every %s and keeps the newest %d\n", c.Name, c.EtcdSnapshots.Interval, c.EtcdSnapshots.Retention)
			})
		},
	}
	cmd.Flags().StringVar(&sched.Interval, "interval", "", "how often (like 6h; at least 1m)")
	cmd.Flags().Int32Var(&sched.Retention, "retention", 0, "how many scheduled snapshots to keep (1-100)")
	cmd.Flags().BoolVar(&off, "off", false, "end the schedule")
	return cmd
}
