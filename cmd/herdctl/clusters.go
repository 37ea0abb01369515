package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdapi"
)

func newClustersCommand(a *app) *cobra.Command {
	return group("clusters", "List, create, delete and import downstream clusters",
		newClustersListCommand(a),
		newClustersGetCommand(a),
		newClustersCreateCommand(a),
		newClustersDeleteCommand(a),
		newClustersImportCommand(a),
		newClustersScaleCommand(a),
		newClustersEndpointCommand(a),
		newClustersUpgradeCommand(a),
	)
}

func newClustersListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List the clusters you may see", Args: needArgs(),
		Long: `List the clusters you may see. CPU (in cores), MEMORY and PODS are what the
pods request out of what the nodes can allocate.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListClusters(cmd.Context())
			if err != nil {
				return explain(err, s.cfg, action{what: "list clusters"})
			}
			if list.Items == nil {
				list.Items = []herdapi.Cluster{}
			}
			if a.tableMode() && len(list.Items) == 0 {
				fmt.Fprintln(a.stderr, "No clusters: an administrator adds one with `herdctl clusters create NAME`")
				return nil
			}
			return a.print(list, func(w io.Writer) { a.clusterTable(w, list.Items...) })
		},
	}
}

// clusterTable has one row per cluster; CPU, MEMORY and PODS are
// requested/allocatable.
func (a *app) clusterTable(w io.Writer, clusters ...herdapi.Cluster) {
	row(w, "NAME", "CONNECTED", "READY", "VERSION", "NODES", "CPU", "MEMORY", "PODS", "AGE")
	now := a.now()
	for _, c := range clusters {
		row(w, c.Name, c.Connected, c.Ready, c.Version, strconv.Itoa(int(c.NodeCount)),
			usage(c, "cpu"), usage(c, "memory"), usage(c, "pods"), age(c.CreatedAt, now))
	}
}

func newClustersGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "get NAME", Short: "Show one cluster with its nodes and resources", Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			c, err := s.client.GetCluster(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "get cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) { a.clusterDetail(w, *c) })
		},
	}
}

// clusterDetail shows a cluster's fields, then its resources and nodes
// when it reports them.
func (a *app) clusterDetail(w io.Writer, c herdapi.Cluster) {
	fields(w, "Name", c.Name, "Display name", c.DisplayName, "Description", c.Description,
		"Connected", c.Connected, "Ready", c.Ready)
	if c.Message != "" {
		fields(w, "Message", c.Message)
	}
	fields(w, "Agents", strconv.Itoa(int(c.ConnectedAgents)), "Version", c.Version, "Nodes", strconv.Itoa(int(c.NodeCount)), "Age", age(c.CreatedAt, a.now()))
	if c.KubernetesVersion != "" {
		fields(w, "Wanted version", c.KubernetesVersion)
	}
	if c.Upgrade != "" {
		fields(w, "Upgrade", c.Upgrade)
	}
	if names := resourceNames(c); len(names) > 0 {
		fmt.Fprintln(w)
		row(w, "RESOURCE", "REQUESTED", "ALLOCATABLE", "CAPACITY")
		for _, name := range names {
			row(w, name, quantity(name, c.Requested[name]), quantity(name, c.Allocatable[name]), quantity(name, c.Capacity[name]))
		}
	}
	if len(c.Nodes) > 0 {
		fmt.Fprintln(w)
		row(w, "NODE", "ROLES", "VERSION", "READY")
		for _, n := range c.Nodes {
			row(w, n.Name, strings.Join(n.Roles, ","), n.KubeletVersion, conditionStatus(n.Ready))
		}
	}
}

// conditionStatus writes a bool as a condition status, True or False.
func conditionStatus(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func newClustersCreateCommand(a *app) *cobra.Command {
	var req herdapi.ClusterCreateRequest
	var pools []string
	var hosted herdapi.HostedCluster
	var schedule herdapi.EtcdSnapshotSchedule
	cmd := &cobra.Command{
		Use:   "create NAME [--display-name TEXT] [--description TEXT] [--provision VERSION [--pool NAME=QUANTITY:ROLES]...] [--hosted local [--nodes N] [--real-nodes N]]",
		Short: "Create a cluster to import (or, with --provision, for Herd to build) and print its command",
		Args:  needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			req.Name = args[0]
			for _, p := range pools {
				pool, err := parsePool(p)
				if err != nil {
					return err
				}
				req.MachinePools = append(req.MachinePools, pool)
			}
			if hosted.Provider != "" {
				req.Hosted = &hosted
			}
			if schedule.Interval != "" || schedule.Retention != 0 {
				req.EtcdSnapshots = &schedule
			}
			resp, err := s.client.CreateCluster(cmd.Context(), req)
			if err != nil {
				return explain(err, s.cfg, action{what: "create cluster " + req.Name, kind: "cluster", name: req.Name})
			}
			return a.print(resp, func(w io.Writer) {
				a.clusterTable(w, resp.Cluster)
				if req.Hosted != nil {
					fmt.Fprintf(w, "\nThe %s provider makes the cluster (Kubernetes %s), and Herd imports it by itself: watch `herdctl clusters get %s`.\n",
						req.Hosted.Provider, resp.Cluster.Hosted.KubernetesVersion, req.Name)
					return
				}
				if len(req.MachinePools) > 0 {
					fmt.Fprintln(w, "\nHerd's machine driver creates the pools' machines:")
					printPools(w, resp.Cluster.MachinePools)
					fmt.Fprintf(w, "\nWatch them with `herdctl machines list %s`. Machines of your own can join too:\n", req.Name)
				}
				if req.KubernetesVersion != "" {
					token := registrationToken(resp.Import.URL)
					fmt.Fprintf(w, "\nHerd builds the cluster on the machines that register with it (the token is shown once and expires %s). On each machine run:\n\n",
						until(resp.Import.ExpiresAt, a.now()))
					fmt.Fprintf(w, "  HERD_TOKEN=%s herd node-agent --server %s --ca-checksum %s --root DIR --address IP --roles etcd,control-plane|worker\n",
						token, s.cfg.Server, caChecksum(s.cfg))
					return
				}
				fmt.Fprintf(w, "\nTo import the cluster, run this against it (the command holds a registration token: it is shown once and expires %s):\n\n",
					until(resp.Import.ExpiresAt, a.now()))
				fmt.Fprintf(w, "  %s\n", importCommand(resp.Import))
			})
		},
	}
	cmd.Flags().StringVar(&req.DisplayName, "display-name", "", "a human-friendly name")
	cmd.Flags().StringVar(&req.Description, "description", "", "what the cluster is for")
	cmd.Flags().StringVar(&req.KubernetesVersion, "provision", "", "Herd builds the cluster at this Kubernetes version on machines whose node agents register with it")
	cmd.Flags().StringVar(&schedule.Interval, "snapshot-interval", "", "with --provision: take an etcd snapshot this often (like 6h; at least 1m)")
	cmd.Flags().Int32Var(&schedule.Retention, "snapshot-retention", 0, "with --snapshot-interval: how many scheduled snapshots to keep (1-100)")
	cmd.Flags().StringVar(&hosted.Provider, "hosted", "", "a hosted provider makes the cluster and Herd imports it: local (herd local-cluster on the server's host)")
	cmd.Flags().Int32Var(&hosted.Nodes, "nodes", 0, "with --hosted: simulated nodes (default 1)")
	cmd.Flags().Int32Var(&hosted.RealNodes, "real-nodes", 0, "with --hosted: real nodes, which run Herd's agents (default 1)")
	cmd.Flags().StringArrayVar(&pools, "pool", nil, "a machine pool that Herd's local machine driver creates, NAME=QUANTITY:ROLES (roles joined by '+'), e.g. cp=3:etcd+control-plane (repeatable; with --provision)")
	return cmd
}

// caChecksum is the checksum of the CA pinned at login, or CHECKSUM (see
// /cacerts) when none was.
func caChecksum(cfg *fileConfig) string {
	if cfg.CACert == "" {
		return "CHECKSUM"
	}
	return certs.Checksum([]byte(cfg.CACert))
}

// registrationToken is the registration token in an import URL.
func registrationToken(importURL string) string {
	_, file, _ := strings.Cut(importURL, "/v1/import/")
	return strings.TrimSuffix(file, ".yaml")
}

// importCommand is the server's command line, or one built from the URL.
func importCommand(info herdapi.ImportInfo) string {
	if info.Command != "" {
		return info.Command
	}
	return "kubectl apply -f " + info.URL
}

func newClustersDeleteCommand(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME [--force]",
		Short: "Delete a cluster from Herd (the cluster itself keeps running; Herd removes its roles and token copies from it)",
		Args:  needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			note, err := s.client.DeleteCluster(cmd.Context(), args[0], force)
			if err != nil {
				return explain(err, s.cfg, action{what: "delete cluster " + args[0], kind: "cluster", name: args[0]})
			}
			fmt.Fprintf(a.stdout, "cluster %s deleted\n", args[0])
			if note != "" {
				fmt.Fprintln(a.stderr, note)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not wait for the cluster's agent to clean up in it (for a cluster that is gone for good)")
	return cmd
}

func newClustersImportCommand(a *app) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "import-command NAME [--grace-period DURATION]",
		Short: "Print a new import command for a cluster",
		Long: `Print a new import command for a cluster: kubectl apply -f URL, where the URL
holds a new registration token. Earlier import commands of the cluster keep
working for --grace-period (the server's default, one hour, when not given;
0 ends them now).`,
		Args: needArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := importRequest(cmd.Flags().Changed("grace-period"), grace)
			if err != nil {
				return err
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			info, err := s.client.ImportCluster(cmd.Context(), args[0], req)
			if err != nil {
				return explain(err, s.cfg, action{what: "make an import command for cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(info, func(w io.Writer) { fmt.Fprintln(w, importCommand(*info)) })
		},
	}
	cmd.Flags().DurationVar(&grace, "grace-period", 0, "how long earlier import commands keep working, such as 10m (0 ends them now)")
	return cmd
}

// importRequest maps --grace-period to the API: unset keeps the server's
// default, 0 ends older tokens now (negative in the API), and partial
// seconds round up.
func importRequest(set bool, grace time.Duration) (herdapi.ImportRequest, error) {
	switch {
	case !set:
		return herdapi.ImportRequest{}, nil
	case grace < 0:
		return herdapi.ImportRequest{}, fmt.Errorf("--grace-period %s is negative: use 0 to end earlier import commands now", grace)
	case grace == 0:
		return herdapi.ImportRequest{GracePeriodSeconds: -1}, nil
	}
	return herdapi.ImportRequest{GracePeriodSeconds: int64(math.Ceil(grace.Seconds()))}, nil
}
