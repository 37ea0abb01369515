package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/crds"
	"herd.dev/herd/internal/localcluster"
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
}

// New checks cfg and returns a server that Run starts.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg.withDefaults()}, nil
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
	log := s.cfg.Logger
	begin := time.Now()
	if err := s.checkDataDir(); err != nil {
		return err
	}
	err := s.startManagement(ctx)
	if err != nil {
		return err
	}
	if s.mgmt != nil {
		defer s.mgmt.Stop()
	}
	if s.kube, err = kubernetes.NewForConfig(s.rest); err != nil {
		return err
	}
	if err := crds.Install(ctx, s.rest); err != nil {
		return fmt.Errorf("failed to install CRDs: %w", err)
	}
	pair, bundle, err := serverTLS(s.cfg)
	if err != nil {
		return err
	}
	s.caBundle = bundle
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("failed to listen on --listen %s: %w", s.cfg.Listen, err)
	}
	s.listener = ln
	srv := &http.Server{
		Handler:           s.routes(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.ready.Store(true)
	log.Info("herd server ready", "addr", ln.Addr().String(), "took", time.Since(begin).Round(time.Millisecond),
		"embedded", s.mgmt != nil, "caChecksum", Checksum(bundle))
	if started != nil {
		close(started)
	}
	var failed <-chan struct{}
	if s.mgmt != nil {
		failed = s.mgmt.Failed()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("https server failed: %w", err)
	case <-failed:
		err = fmt.Errorf("embedded management cluster failed: %w", s.mgmt.Err())
	}
	s.ready.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	log.Info("herd server stopped")
	return err
}

func (s *Server) startManagement(ctx context.Context) error {
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

type dataDirInfo struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
}

// checkDataDir creates DataDir or checks that this version of Herd wrote it.
func (s *Server) checkDataDir() error {
	dir := s.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create --data-dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "herd-server.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			return fmt.Errorf("%w: --data-dir %s is not empty and was not written by herd server: choose another --data-dir", ErrConfig, dir)
		}
		data, _ = json.Marshal(dataDirInfo{Kind: "HerdServerData", Version: dataVersion})
		return certs.WriteFileAtomic(path, data, 0o600)
	}
	if err != nil {
		return err
	}
	var info dataDirInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Kind != "HerdServerData" {
		return fmt.Errorf("%w: %s is unreadable: choose another --data-dir", ErrConfig, path)
	}
	if info.Version != dataVersion {
		return fmt.Errorf("%w: --data-dir %s has data layout version %d, this herd reads version %d: use the herd release that wrote it, or another --data-dir", ErrConfig, dir, info.Version, dataVersion)
	}
	return nil
}
