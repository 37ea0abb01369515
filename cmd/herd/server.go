package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/auditlog"
	"herd.dev/herd/internal/recording"
	"herd.dev/herd/internal/server"
)

func newServerCommand(logger *slog.Logger) *cobra.Command {
	var cfg server.Config
	var debugListen string
	var auditLevel int
	var execRecording string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Herd management server (embedded management cluster unless --kubeconfig is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setGCPercent(logger)
			cfg.Logger = logger
			level, err := auditlog.ParseLevel(auditLevel)
			if err != nil {
				return err
			}
			cfg.AuditLevel = &level
			if cfg.ExecRecording, err = recording.ParsePolicy(execRecording); err != nil {
				return err
			}
			cfg.BootstrapPassword = os.Getenv("HERD_BOOTSTRAP_PASSWORD")
			cfg.BootstrapOut = cmd.OutOrStdout()
			s, err := server.New(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			if debugListen != "" {
				if err := serveDebug(ctx, debugListen, logger); err != nil {
					return err
				}
			}
			return s.Run(ctx, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "", "folder for the embedded management cluster and generated TLS files (default ~/.herd/server)")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of an existing management cluster (default: start an embedded one)")
	f.BoolVar(&cfg.InCluster, "in-cluster", false, "the management cluster is the one this runs in as a pod, reached with its service account (as the Helm chart runs it)")
	f.StringVar(&cfg.Listen, "listen", ":8443", "HTTPS listen address")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serving certificate (PEM); default: generated under --data-dir")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "serving key (PEM), with --tls-cert")
	f.StringVar(&cfg.TLSCA, "tls-ca", "", "CA bundle (PEM) that signed --tls-cert: served at /cacerts, pinned by agents and herdctl, embedded in kubeconfigs")
	f.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "more DNS names or IP addresses for the generated serving certificate (it holds localhost, the loopback addresses, the host name and the host of --server-url already)")
	f.StringVar(&cfg.ServerURL, "server-url", "", "https URL that agents use to reach this server, written into import manifests (default: the host the client used)")
	f.StringVar(&cfg.AgentImage, "agent-image", "", "agent image in import manifests (default herd/herd:<this version>, as `make image` tags it)")
	f.DurationVar(&cfg.TokenTTLs.Session, "session-ttl", 0, "lifetime of session tokens (default 16h)")
	f.DurationVar(&cfg.TokenTTLs.Kubeconfig, "kubeconfig-token-ttl", 0, "lifetime of kubeconfig tokens (default 720h)")
	f.DurationVar(&cfg.TokenTTLs.Max, "max-token-ttl", 0, "upper bound of every token's lifetime (default: none beyond the above)")
	f.DurationVar(&cfg.RegistrationTokenTTL, "registration-token-ttl", 0, "lifetime of cluster registration tokens (default 24h)")
	f.DurationVar(&cfg.GroupRefresh, "group-refresh-interval", 0, "how often users' groups are read again from their identity providers (default 1h)")
	f.IntVar(&cfg.MaxTokensPerUser, "max-tokens-per-user", 100, "most live tokens one user may hold; a login past it ends their oldest session")
	f.IntVar(&cfg.MaxConcurrentLogins, "max-concurrent-logins", 0, "password checks run at once (each takes about 19 MiB and a core; default half the CPUs); more wait up to a second, then get 503")
	f.StringVar(&cfg.KubeBinDir, "kube-bin-dir", "", "Kubernetes binaries for the embedded management cluster and the local driver's machines (default: as herd local-cluster)")
	f.StringVar(&cfg.HerdBinary, "herd-binary", "", "the herd binary that the local machine driver's machines run (default: this one)")
	f.StringVar(&cfg.HostedImageArchive, "hosted-image-archive", "", "Herd's image archive for the real nodes of clusters the local hosted provider makes (default: _output/herd-image-<version>.tar of the source tree)")
	f.StringVar(&cfg.ReplicaID, "replica-id", "", "name of this replica among those sharing --kubeconfig, a DNS label (default: host name and a random suffix)")
	f.StringVar(&cfg.PeerListen, "peer-listen", "", "address that other replicas link to, with certificates of Herd's CA (default: the host of --listen, a free port)")
	f.StringVar(&cfg.PeerAdvertise, "peer-advertise", "", "HOST:PORT other replicas dial for --peer-listen (default: its address; for 0.0.0.0, $POD_IP or the first non-loopback address)")
	f.DurationVar(&cfg.ReplicaLease, "replica-lease", 0, "how long a replica's lease lasts unrenewed; a replica that dies loses its clusters within it (default 4s)")
	f.StringVar(&cfg.MachineSubnet, "machine-subnet", "", "first three octets of the local machine driver's addresses, in 127/8 (default 127.77.0)")
	f.IntVar(&auditLevel, "audit-log-level", int(auditlog.Metadata), "what audit lines hold: 0 none, 1 who did what where and the answer, 2 also request bodies, 3 also response bodies (bodies of the proxy's requests, at most 64 KiB, JSON only, secrets redacted)")
	f.StringVar(&cfg.AuditLogPath, "audit-log-path", "", "file for audit lines (JSON, one per line, rotated by size), or - for stdout (default: with the server's log)")
	f.IntVar(&cfg.AuditLogMaxSizeMB, "audit-log-max-size", 100, "size in MB at which --audit-log-path is rotated")
	f.IntVar(&cfg.AuditLogMaxBackups, "audit-log-max-backups", 10, "rotated audit log files kept (FILE.1 the newest)")
	f.StringVar(&execRecording, "exec-recording", string(recording.On), "recording of interactive kubectl exec and attach sessions through Herd (asciicast v2, kept in the management cluster): off; on (a session whose recording cannot begin runs unrecorded, and the log says so); required (such a session is refused)")
	f.BoolVar(&cfg.ExecRecordingInput, "exec-recording-input", false, "record what users type in exec sessions too (passwords typed into a session end up in the recording); output is always recorded")
	f.Int64Var(&cfg.ExecRecordingMaxSize, "exec-recording-max-size", 64<<20, "bytes of one session's recording kept; the rest is marked as truncated")
	f.DurationVar(&cfg.ExecRecordingRetention, "exec-recording-retention", 30*24*time.Hour, "how long exec session recordings are kept")
	f.StringVar(&debugListen, "debug-listen", "", "loopback HOST:PORT serving Go's runtime profiles at /debug/pprof/ (default: off)")
	return cmd
}

// serverGCPercent is the server's garbage collection target unless GOGC
// is set: a heap grows to 1.5 times what is live rather than twice. Most
// of a busy server's heap is long-lived (every agent's tunnel session,
// the management cluster's cache), so the memory saved is large and, at
// the low allocation rate of idle agents, the extra collections cheap
// (docs/benchmarks.md, BenchmarkIdleAgents).
const serverGCPercent = 50

// setGCPercent applies serverGCPercent, unless the GOGC environment
// variable says otherwise.
func setGCPercent(logger *slog.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		logger.Debug("garbage collection target from GOGC", "GOGC", v)
		return
	}
	debug.SetGCPercent(serverGCPercent)
}
