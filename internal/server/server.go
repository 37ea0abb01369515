package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/auditlog"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/crds"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/recording"
)

// dataVersion is the layout version of DataDir; a different one is refused.
const dataVersion = 1

// Server is a running Herd server.
type Server struct {
	cfg      Config
	listener net.Listener
	mgmt     *localcluster.Cluster // nil with --kubeconfig
	rest     *rest.Config
	kube     kubernetes.Interface
	caBundle []byte
	ready    atomic.Bool
	mgrErr   atomic.Pointer[error]
	leader   <-chan struct{}
	keyPin   string // curl --pinnedpubkey of the generated serving key
	proxy    *authproxy.Proxy
	// recorder records exec sessions into recordings (policy: their
	// policy, resolved).
	recorder        *recording.Recorder
	recordings      *recording.KubeStore
	recordingPolicy recording.Policy
	// proxyMetrics observes the proxy for GET /metrics.
	proxyMetrics *proxyMetrics
	// localOnce builds the target of the management cluster once.
	localOnce   sync.Once
	localTgt    *authproxy.Target
	localTgtErr error
	// baseCtx ends when the server stops; cluster controllers run under it.
	baseCtx context.Context

	client   client.Client // reads from the cache, writes to the management cluster
	cache    client.Reader
	api      client.Reader // uncached reads
	authn    *authn.Authenticator
	authz    *authz.Authorizer
	dir      *identity.Directory
	clusters *clusters.Manager
	replica  *replica
	usage    *authn.UsageRecorder
	audit    *slog.Logger
	// auditLevel is how much the proxy's audit lines hold.
	auditLevel auditlog.Level
	now        func() time.Time
}

// New checks cfg and returns a server that Run starts.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Server{cfg: cfg}, nil
}

// openAudit makes the audit logger that Config asks for; close ends it.
func (s *Server) openAudit() (close func(), err error) {
	level := auditlog.Metadata
	if s.cfg.AuditLevel != nil {
		level = *s.cfg.AuditLevel
	}
	s.auditLevel = level
	switch {
	case level == auditlog.Off:
		s.audit = slog.New(slog.DiscardHandler)
	case s.cfg.AuditLogPath == "":
		s.audit = s.cfg.Logger.With("log", "audit")
	case s.cfg.AuditLogPath == "-":
		s.audit = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	default:
		f, err := auditlog.OpenFile(s.cfg.AuditLogPath, int64(s.cfg.AuditLogMaxSizeMB)<<20, s.cfg.AuditLogMaxBackups)
		if err != nil {
			return nil, err
		}
		s.audit = slog.New(slog.NewJSONHandler(f, nil))
		return func() { _ = f.Close() }, nil
	}
	return func() {}, nil
}

// Addr is the address the server listens on; valid once Run has started
// serving (see Ready).
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Ready reports whether the server serves and its management cluster answers.
func (s *Server) Ready() bool { return s.ready.Load() }

// CABundle is the CA that clients pin; valid once serving.
func (s *Server) CABundle() []byte { return s.caBundle }

// ManagementConfig is the client configuration of the management cluster.
func (s *Server) ManagementConfig() *rest.Config { return rest.CopyConfig(s.rest) }

// Run starts everything and serves until ctx ends, then shuts down.
func (s *Server) Run(ctx context.Context, started chan<- struct{}) error {
	begin := time.Now()
	if err := s.checkDataDir(); err != nil {
		return err
	}
	closeAudit, err := s.openAudit()
	if err != nil {
		return err
	}
	defer closeAudit()
	if err := s.startManagement(ctx); err != nil {
		return err
	}
	if s.mgmt != nil {
		defer s.mgmt.Stop()
	}
	// The server is the management cluster's main client; client-go's
	// default of 5 requests a second would throttle logins and controllers.
	s.rest.QPS, s.rest.Burst = 200, 400
	mctx, stopManager := context.WithCancel(ctx)
	s.baseCtx = mctx
	mgrDone, err := s.startControlPlane(mctx)
	defer func() {
		s.stopReplica()
		stopManager()
		if s.clusters != nil {
			s.clusters.StopRuntimes()
		}
		if mgrDone != nil {
			<-mgrDone
		}
	}()
	if err != nil {
		return err
	}
	srv, errc, err := s.serve()
	if err != nil {
		return err
	}
	s.ready.Store(true)
	s.cfg.Logger.Info("herd server ready", "addr", s.listener.Addr().String(), "took", time.Since(begin).Round(time.Millisecond).String(),
		"embedded", s.mgmt != nil, "caChecksum", Checksum(s.caBundle))
	if started != nil {
		close(started)
	}
	err = s.wait(ctx, errc, mgrDone)
	s.ready.Store(false)
	s.leave()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	held := s.clusters.HeldClusters()
	_ = s.clusters.Tunnel().Close() // hijacked tunnel connections outlive Shutdown
	_ = s.clusters.NodeTunnel().Close()
	s.recorder.Wait(shutdownCtx) // the ended sessions' recordings are stored
	s.stopReplica()
	markCtx, cancelMark := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelMark()
	s.clusters.MarkDisconnected(markCtx, held)
	s.cfg.Logger.Info("herd server stopped")
	return err
}

// startControlPlane installs the CRDs, starts the manager (cache, leader
// election, controllers) and creates the built-in objects. The returned
// channel closes when the manager has stopped.
func (s *Server) startControlPlane(ctx context.Context) (<-chan struct{}, error) {
	var err error
	if s.kube, err = kubernetes.NewForConfig(s.rest); err != nil {
		return nil, err
	}
	if err := crds.Install(ctx, s.rest); err != nil {
		return nil, fmt.Errorf("failed to install CRDs: %w", err)
	}
	mgr, err := s.newManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, mgr.GetClient()); err != nil {
		return nil, err
	}
	ca, err := s.sharedCA(ctx)
	if err != nil {
		return nil, err
	}
	if s.replica, err = s.newReplica(ca); err != nil {
		return nil, err
	}
	if err := s.wire(mgr); err != nil {
		return nil, err
	}
	if s.recordingPolicy != recording.Off {
		if err := s.recordings.EnsureNamespace(ctx); err != nil {
			return nil, err
		}
	}
	s.newProxy()
	if err := s.addControllers(mgr); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			s.mgrErr.Store(&err)
		}
	}()
	if err := startCache(ctx, mgr); err != nil {
		return done, err
	}
	if err := s.clusters.WatchRBACInputs(ctx, mgr.GetCache()); err != nil {
		return done, err
	}
	if err := s.clusters.WatchBundleDeployments(ctx, mgr.GetCache()); err != nil {
		return done, err
	}
	if err := s.clusters.WatchClusters(ctx, mgr.GetCache()); err != nil {
		return done, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return done, err
	}
	s.runReplica()
	return done, nil
}

// embedCA says whether clients get the CA bundle with their kubeconfigs
// (a generated CA, or --tls-ca) rather than trusting the system's roots.
func (s *Server) embedCA() bool { return s.cfg.TLSCert == "" || s.cfg.TLSCA != "" }

// serve starts HTTPS on the configured address.
func (s *Server) serve() (*http.Server, <-chan error, error) {
	pair, bundle, err := serverTLS(s.cfg)
	if err != nil {
		return nil, nil, err
	}
	s.caBundle = bundle
	if s.embedCA() {
		if s.keyPin, err = publicKeyPin(pair); err != nil {
			return nil, nil, err
		}
	}
	ln := s.cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return nil, nil, fmt.Errorf("failed to listen on --listen %s: %w", s.cfg.Listen, err)
		}
	}
	s.listener = ln
	handler, err := s.routes()
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	return srv, errc, nil
}

// wait blocks until ctx ends or a part fails.
func (s *Server) wait(ctx context.Context, errc <-chan error, mgrDone <-chan struct{}) error {
	var failed <-chan struct{}
	if s.mgmt != nil {
		failed = s.mgmt.Failed()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return fmt.Errorf("https server failed: %w", err)
	case <-failed:
		return fmt.Errorf("embedded management cluster failed: %w", s.mgmt.Err())
	case <-mgrDone:
		if p := s.mgrErr.Load(); p != nil {
			return fmt.Errorf("controller manager failed: %w", *p)
		}
		return fmt.Errorf("controller manager stopped")
	}
}

func (s *Server) startManagement(ctx context.Context) error {
	if s.cfg.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return fmt.Errorf("--in-cluster: %w", err)
		}
		s.rest = cfg
		return nil
	}
	if s.cfg.Kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", s.cfg.Kubeconfig)
		if err != nil {
			return fmt.Errorf("failed to load --kubeconfig %s: %w", s.cfg.Kubeconfig, err)
		}
		s.rest = cfg
		return nil
	}
	c, err := localcluster.New(localcluster.Config{
		Name:   "local",
		Dir:    filepath.Join(s.cfg.DataDir, "management"),
		BinDir: s.cfg.KubeBinDir,
		Logger: s.cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("failed to start the embedded management cluster: %w", err)
	}
	s.mgmt = c
	if s.rest, err = c.RESTConfig(); err != nil {
		c.Stop()
		return err
	}
	return nil
}
