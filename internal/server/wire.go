package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/controllers/bundle"
	"herd.dev/herd/internal/controllers/expiry"
	"herd.dev/herd/internal/controllers/validation"
	"herd.dev/herd/internal/etcdjoin"
	"herd.dev/herd/internal/hosted"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/machinedriver"
	"herd.dev/herd/internal/machinepools"
	"herd.dev/herd/internal/planner"
	"herd.dev/herd/internal/recording"
)

// everyReplica is a runnable that runs on every replica, not only the leader.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }
func (everyReplica) NeedLeaderElection() bool          { return false }

var _ manager.LeaderElectionRunnable = everyReplica(nil)

// wire connects the request path to the manager's clients and cache.
func (s *Server) wire(mgr manager.Manager) error {
	s.now = s.cfg.Now
	s.client = mgr.GetClient()
	s.cache = mgr.GetCache()
	s.api = mgr.GetAPIReader()
	s.leader = mgr.Elected()
	s.usage = &authn.UsageRecorder{Client: s.client, Flush: s.cfg.TokenUseFlush, Logger: s.cfg.Logger}
	s.authn = &authn.Authenticator{Cache: s.cache, Usage: s.usage, Now: s.now}
	// Global rules are checked on every proxied request; they are kept
	// per identity until a GlobalRole or GlobalRoleBinding changes.
	rules := &authz.RuleCache{}
	if err := rules.Watch(s.baseCtx, mgr.GetCache()); err != nil {
		return err
	}
	s.authz = &authz.Authorizer{Cache: s.cache, Logger: s.cfg.Logger, Rules: rules}
	dir, err := identity.New(identity.Config{Client: s.client, Cache: s.cache, API: s.api, Providers: s.cfg.Providers,
		TokenTTLs: s.cfg.TokenTTLs, MaxTokensPerUser: s.cfg.MaxTokensPerUser, GroupRefresh: s.cfg.GroupRefresh,
		BootstrapPassword: s.cfg.BootstrapPassword, BootstrapOut: s.cfg.BootstrapOut, DataDir: s.cfg.DataDir,
		Logger: s.cfg.Logger, Audit: s.audit, Now: s.now})
	if err != nil {
		return err
	}
	s.dir = dir
	s.recordingPolicy = s.cfg.ExecRecording
	if s.recordingPolicy == "" {
		s.recordingPolicy = recording.On
	}
	s.recordings = &recording.KubeStore{Client: s.client, Reader: s.api, Replica: s.replica.members.ID()}
	s.recorder = recording.New(recording.Config{Store: s.recordings, Input: s.cfg.ExecRecordingInput,
		MaxSize: s.cfg.ExecRecordingMaxSize, Logger: s.cfg.Logger, Now: s.now})
	s.clusters, err = clusters.New(clusters.Config{Context: s.baseCtx, Client: s.client, Cache: s.cache, API: s.api, Authz: s.authz,
		IsLeader: s.IsLeader, Replicas: s.replica.members, Peering: s.replica.peering, RegistrationTokenTTL: s.cfg.RegistrationTokenTTL, Logger: s.cfg.Logger, Audit: s.audit, Now: s.now})
	if err != nil {
		return err
	}
	return nil
}

// leaderOnly is a runnable that runs on the leader only.
type leaderOnly func(context.Context) error

func (f leaderOnly) Start(ctx context.Context) error { return f(ctx) }
func (leaderOnly) NeedLeaderElection() bool          { return true }

var _ manager.LeaderElectionRunnable = leaderOnly(nil)

// addControllers registers what runs on every replica and what runs on the
// leader only.
func (s *Server) addControllers(mgr manager.Manager) error {
	retention := s.cfg.ExecRecordingRetention
	if retention == 0 {
		retention = 30 * 24 * time.Hour
	}
	if err := mgr.Add(leaderOnly(func(ctx context.Context) error {
		recording.SweepEvery(ctx, s.recordings, time.Hour, retention, s.now, s.cfg.Logger)
		return nil
	})); err != nil {
		return err
	}
	if err := mgr.Add(everyReplica(s.usage.Run)); err != nil {
		return err
	}
	if err := mgr.Add(leaderOnly(s.dir.RefreshGroups)); err != nil {
		return err
	}
	if err := mgr.Add(everyReplica(s.clusters.RunConnectionWrites)); err != nil {
		return err
	}
	if err := mgr.Add(everyReplica(s.clusters.CheckLiveness)); err != nil {
		return err
	}
	if err := mgr.Add(leaderOnly(s.sweepFlows)); err != nil {
		return err
	}
	if err := validation.Setup(mgr, validation.Options{Logger: s.cfg.Logger}); err != nil {
		return err
	}
	if err := planner.Setup(mgr, planner.Options{ServerURL: s.agentServerURL, CAChecksum: func() string { return Checksum(s.caBundle) }, AgentImage: s.cfg.AgentImage,
		IssueRegistrationToken: s.clusters.Registrar().IssueRegistrationToken, Versions: s.kubernetesVersions(), Kube: s.clusters.Kube, Logger: s.cfg.Logger}); err != nil {
		return err
	}
	if err := s.setupMachinePools(mgr); err != nil {
		return err
	}
	if err := bundle.Setup(mgr, bundle.Options{Logger: s.cfg.Logger, Now: s.now,
		Reach: func(ctx context.Context, id *authn.Identity, cluster string) bool {
			_, ok := s.authz.LiveCluster(ctx, id, cluster)
			return ok
		}}); err != nil {
		return err
	}
	return expiry.Setup(mgr, expiry.Options{Logger: s.cfg.Logger})
}

// setupMachinePools runs the machine pools controller with the local
// machine driver, whose machines live under DataDir/machines, and the
// hosted clusters controller with the local provider, whose clusters live
// under DataDir/hosted.
func (s *Server) setupMachinePools(mgr manager.Manager) error {
	herd := s.cfg.HerdBinary
	if herd == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find the herd binary for local machines (--herd-binary): %w", err)
		}
		herd = exe
	}
	bin := s.cfg.KubeBinDir
	if bin == "" {
		bin = localcluster.DefaultBinDir()
	}
	local := &machinedriver.Local{Dir: filepath.Join(s.cfg.DataDir, "machines"), Herd: herd, BinDir: bin,
		Server: s.agentServerURL, CAChecksum: func() string { return Checksum(s.caBundle) },
		Subnet: s.cfg.MachineSubnet, StopWithServer: s.cfg.LocalStopWithServer, Logger: s.cfg.Logger}
	if err := machinepools.Setup(mgr, machinepools.Options{Local: local,
		IssueRegistrationToken: s.clusters.Registrar().IssueRegistrationToken,
		RemoveEtcdMember:       etcdjoin.Remove, Kube: s.clusters.Kube, Logger: s.cfg.Logger}); err != nil {
		return err
	}
	archive := s.cfg.HostedImageArchive
	if archive == "" {
		archive = localcluster.DefaultImageArchive()
	}
	hostedLocal := &hosted.Local{Images: []string{archive}, Manager: &localcluster.Manager{Root: filepath.Join(s.cfg.DataDir, "hosted"),
		Exe: herd, BinDir: bin, StopWithParent: s.cfg.LocalStopWithServer, Logger: s.cfg.Logger}}
	return hosted.Setup(mgr, hosted.Options{Local: hostedLocal, ServerURL: s.agentServerURL, CAChecksum: func() string { return Checksum(s.caBundle) },
		AgentImage: s.cfg.AgentImage, IssueRegistrationToken: s.clusters.Registrar().IssueRegistrationToken,
		RemoveCleanupFinalizer: s.clusters.RemoveCleanupFinalizer, Logger: s.cfg.Logger})
}

// kubernetesVersions are the versions of the clusters Herd provisions:
// those built beside the management cluster's binaries (`make kube`
// builds the current and the previous minor), else the current one.
func (s *Server) kubernetesVersions() []string {
	bin := s.cfg.KubeBinDir
	if bin == "" {
		bin = localcluster.DefaultBinDir()
	}
	if vs := localcluster.Versions(bin); len(vs) > 0 {
		return vs
	}
	return []string{localcluster.KubernetesVersion}
}

// agentServerURL is the URL agents of provisioned clusters dial:
// --server-url, else this server's listening address (loopback for an
// unspecified one).
func (s *Server) agentServerURL() string {
	if s.cfg.ServerURL != "" {
		return s.cfg.ServerURL
	}
	addr, ok := s.listener.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// IsLeader reports whether this replica runs the controllers.
func (s *Server) IsLeader() bool {
	if s.leader == nil {
		return false
	}
	select {
	case <-s.leader:
		return true
	default:
		return false
	}
}

// sweepFlows deletes expired browser-login records every minute, on the
// leader.
func (s *Server) sweepFlows(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.dir.SweepFlows(ctx)
		}
	}
}
