package kubeapiauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

// Server is the webhook: an informer on this cluster's token copies, the
// index it keeps, and the HTTPS server that answers from it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	index   *index
	factory informers.SharedInformerFactory
	reg     cache.ResourceEventHandlerRegistration
}

// New validates cfg and sets up the informer; nothing runs until Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("component", "kube-api-auth", "cluster", cfg.Cluster)
	s := &Server{cfg: cfg, log: log, index: newIndex(cfg.Cluster, log)}
	selector := labels.SelectorFromSet(labels.Set{tokencopy.Label: cfg.Cluster}).String()
	s.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Kube, 0,
		informers.WithNamespace(wellknown.TokenCopiesNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
		informers.WithTransform(strip))
	reg, err := s.factory.Core().V1().Secrets().Informer().AddEventHandler(s.index)
	if err != nil {
		return nil, fmt.Errorf("failed to watch token copies: %w", err)
	}
	s.reg = reg
	return s, nil
}

// Run listens on cfg.Listen and serves until ctx ends. Call Run or Serve
// once.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s (--listen): %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve starts the informer and serves HTTPS on ln until ctx ends; it
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLSCert == "" {
		ln.Close()
		return errors.New("kubeapiauth: --tls-cert and --tls-key are required")
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		ln.Close()
		return fmt.Errorf("failed to load --tls-cert/--tls-key: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		s.factory.Shutdown() // waits for the informer to stop
	}()
	s.start(ctx)
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("serving token reviews", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("failed to serve token reviews: %w", err)
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	err = srv.Shutdown(shutdown)
	<-done
	return err
}

// start runs the informer and logs when the copies are synced.
func (s *Server) start(ctx context.Context) {
	s.factory.Start(ctx.Done())
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), s.reg.HasSynced) {
			s.log.Info("token copies synced", "copies", s.index.len())
		}
	}()
}

// synced reports whether the index holds every copy of the initial list.
func (s *Server) synced() bool { return s.reg.HasSynced() }

// strip drops what the index never reads before the informer stores a
// Secret: managed fields and annotations (kubectl's last-applied copy).
func strip(obj any) (any, error) {
	if s, ok := obj.(*corev1.Secret); ok {
		s.ManagedFields = nil
		s.Annotations = nil
	}
	return obj, nil
}
