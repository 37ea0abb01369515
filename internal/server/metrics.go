package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/recording"
)

// metricsHandler serves this replica's Prometheus metrics from a registry
// of its own (no global state): Go and process metrics, and the clusters
// as this replica sees them. The API puts it behind a global right (get
// metrics), which the admin role holds.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&clusterMetrics{s: s},
		&provisioningMetrics{s: s},
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herd_tunnel_sessions_accepted_total",
			Help: "Agent tunnel sessions this replica has accepted since it started.",
		}, func() float64 { return float64(s.clusters.Tunnel().Accepted()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herd_tunnel_streams_total",
			Help: "Streams this replica has opened through agent tunnels (one per connection to a cluster's apiserver or target).",
		}, func() float64 { return float64(s.clusters.Tunnel().Streams().Opened) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herd_tunnel_streams_open",
			Help: "Streams through agent tunnels that this replica has open now.",
		}, func() float64 { return float64(s.clusters.Tunnel().Streams().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herd_tunnel_bytes_total", ConstLabels: prometheus.Labels{"direction": "received"},
			Help: "Bytes through this replica's agent tunnel streams; received: from the clusters, sent: to them.",
		}, func() float64 { return float64(s.clusters.Tunnel().Streams().Received) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herd_tunnel_bytes_total", ConstLabels: prometheus.Labels{"direction": "sent"},
			Help: "Bytes through this replica's agent tunnel streams; received: from the clusters, sent: to them.",
		}, func() float64 { return float64(s.clusters.Tunnel().Streams().Sent) }),
		s.proxyMetrics,
		&recordingMetrics{r: s.recorder},
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
		Timeout:             30 * time.Second,
	})
}

var (
	clusterOwnerDesc = prometheus.NewDesc("herd_cluster_owner",
		"1 for the replica that runs the cluster's controllers, as the Cluster names it (replicas only).",
		[]string{"cluster", "replica"}, nil)
	clusterConnectedDesc = prometheus.NewDesc("herd_cluster_connected",
		"Whether the cluster's Connected condition is True (an agent's tunnel is up at some replica).",
		[]string{"cluster"}, nil)
	clusterReadyDesc = prometheus.NewDesc("herd_cluster_ready",
		"Whether the cluster's Ready condition is True (its kube-apiserver answers /readyz).",
		[]string{"cluster"}, nil)
	tunnelSessionsDesc = prometheus.NewDesc("herd_tunnel_sessions",
		"Agent tunnel sessions of the cluster that this replica holds.",
		[]string{"cluster"}, nil)
	clustersOwnedDesc = prometheus.NewDesc("herd_clusters_owned",
		"Clusters whose controllers this replica runs, as the Clusters name their owner (replicas only).",
		nil, nil)
	peerLinkDesc = prometheus.NewDesc("herd_peer_link_up",
		"Whether this replica's peer link to a ready replica is up (replicas only); a replica missing one for long leaves cluster ownership to the others.",
		[]string{"peer"}, nil)
)

// clusterMetrics reads the clusters from the cache at each scrape.
type clusterMetrics struct{ s *Server }

var _ prometheus.Collector = (*clusterMetrics)(nil)

func (c *clusterMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{clusterOwnerDesc, clusterConnectedDesc, clusterReadyDesc, tunnelSessionsDesc, clustersOwnedDesc, peerLinkDesc} {
		ch <- d
	}
}

func (c *clusterMetrics) Collect(ch chan<- prometheus.Metric) {
	var list v1.ClusterList
	if err := c.s.cache.List(c.s.baseCtx, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		ch <- prometheus.NewInvalidMetric(clusterConnectedDesc, err)
		return
	}
	self := c.s.clusters.ReplicaID()
	owned := 0
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i := range list.Items {
		cl := &list.Items[i]
		if owner := cl.Status.Owner; owner != "" {
			gauge(clusterOwnerDesc, 1, cl.Name, owner)
			if owner == self {
				owned++
			}
		}
		gauge(clusterConnectedDesc, boolValue(meta.IsStatusConditionTrue(cl.Status.Conditions, v1.ClusterConnected)), cl.Name)
		gauge(clusterReadyDesc, boolValue(meta.IsStatusConditionTrue(cl.Status.Conditions, v1.ClusterReady)), cl.Name)
		gauge(tunnelSessionsDesc, float64(c.s.clusters.AgentSessions(cl)), cl.Name)
	}
	if self != "" {
		gauge(clustersOwnedDesc, float64(owned))
	}
	if p := c.s.clusters.Peers(); p != nil {
		for _, id := range p.Linked() {
			gauge(peerLinkDesc, 1, id)
		}
		for _, id := range p.Unlinked() {
			gauge(peerLinkDesc, 0, id)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	machinesDesc = prometheus.NewDesc("herd_machines",
		"Machines of provisioned clusters by the state of applying their current plan (Pending, InProgress, Succeeded, Failed).",
		[]string{"cluster", "state"}, nil)
	planFailuresDesc = prometheus.NewDesc("herd_machine_plan_failures",
		"Failed attempts at their current plans, summed over the cluster's machines.",
		[]string{"cluster"}, nil)
	snapshotsDesc = prometheus.NewDesc("herd_etcd_snapshots",
		"EtcdSnapshots of provisioned clusters by phase (Pending, Succeeded, Failed).",
		[]string{"cluster", "phase"}, nil)
	snapshotLastSuccessDesc = prometheus.NewDesc("herd_etcd_snapshot_last_success_timestamp_seconds",
		"When the cluster's newest successful etcd snapshot was taken (Unix time).",
		[]string{"cluster"}, nil)
)

// provisioningMetrics reads machines and etcd snapshots from the cache at
// each scrape: plan applications and snapshot successes, the same on
// every replica.
type provisioningMetrics struct{ s *Server }

var _ prometheus.Collector = (*provisioningMetrics)(nil)

func (p *provisioningMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{machinesDesc, planFailuresDesc, snapshotsDesc, snapshotLastSuccessDesc} {
		ch <- d
	}
}

func (p *provisioningMetrics) Collect(ch chan<- prometheus.Metric) {
	type key struct{ cluster, state string }
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	var machines v1.MachineList
	if err := p.s.cache.List(p.s.baseCtx, &machines, client.UnsafeDisableDeepCopy); err != nil { // read only
		ch <- prometheus.NewInvalidMetric(machinesDesc, err)
	}
	states, failures := map[key]int{}, map[string]int32{}
	for i := range machines.Items {
		m := &machines.Items[i]
		state := m.Status.State
		if state == "" {
			state = v1.PlanPending
		}
		states[key{m.Spec.ClusterName, state}]++
		failures[m.Spec.ClusterName] += m.Status.Failures
	}
	for k, n := range states {
		gauge(machinesDesc, float64(n), k.cluster, k.state)
	}
	for cluster, n := range failures {
		gauge(planFailuresDesc, float64(n), cluster)
	}
	var snapshots v1.EtcdSnapshotList
	if err := p.s.cache.List(p.s.baseCtx, &snapshots, client.UnsafeDisableDeepCopy); err != nil { // read only
		ch <- prometheus.NewInvalidMetric(snapshotsDesc, err)
		return
	}
	phases, last := map[key]int{}, map[string]time.Time{}
	for i := range snapshots.Items {
		sn := &snapshots.Items[i]
		phase := sn.Status.Phase
		if phase == "" {
			phase = v1.SnapshotPending
		}
		phases[key{sn.Spec.ClusterName, phase}]++
		if phase == v1.SnapshotSucceeded && sn.Status.TakenAt != nil && sn.Status.TakenAt.After(last[sn.Spec.ClusterName]) {
			last[sn.Spec.ClusterName] = sn.Status.TakenAt.Time
		}
	}
	for k, n := range phases {
		gauge(snapshotsDesc, float64(n), k.cluster, k.state)
	}
	for cluster, at := range last {
		gauge(snapshotLastSuccessDesc, float64(at.Unix()), cluster)
	}
}

// recordingMetrics are the exec session recorder's counts.
type recordingMetrics struct{ r *recording.Recorder }

var (
	recordedDesc = prometheus.NewDesc("herd_exec_sessions_total",
		"Interactive exec and attach sessions through this replica by what became of their recording: recorded, unrecorded (the recorder was unavailable, policy on) or refused (policy required).", []string{"recording"}, nil)
	recordingActiveDesc = prometheus.NewDesc("herd_exec_recordings_active", "Sessions this replica records now.", nil, nil)
	recordingLostDesc   = prometheus.NewDesc("herd_exec_recording_lost_bytes_total",
		"Bytes of ended sessions that could not be recorded (truncated, or the storage refused them for too long).", nil, nil)
)

func (m *recordingMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- recordedDesc
	ch <- recordingActiveDesc
	ch <- recordingLostDesc
}

func (m *recordingMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.r.Stats()
	ch <- prometheus.MustNewConstMetric(recordedDesc, prometheus.CounterValue, float64(st.Started), "recorded")
	ch <- prometheus.MustNewConstMetric(recordedDesc, prometheus.CounterValue, float64(st.Unrecorded), "unrecorded")
	ch <- prometheus.MustNewConstMetric(recordedDesc, prometheus.CounterValue, float64(st.Refused), "refused")
	ch <- prometheus.MustNewConstMetric(recordingActiveDesc, prometheus.GaugeValue, float64(st.Active))
	ch <- prometheus.MustNewConstMetric(recordingLostDesc, prometheus.CounterValue, float64(st.LostBytes))
}
