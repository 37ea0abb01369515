package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/membership"
	"herd.dev/herd/internal/tunnel"
	"herd.dev/herd/internal/wellknown"
)

// replica is this server as one of several replicas: its Lease, its peer
// listener and certificate.
type replica struct {
	members  *membership.Membership
	listener net.Listener
	peering  *clusters.Peering
	// cancel ends the membership, ownership and peer loops, which run
	// past the server's context: a leaving replica hands its clusters
	// over before its Lease goes. done is closed when they have ended.
	cancel context.CancelFunc
	done   chan struct{}
}

// replicaID is --replica-id, else the host name with a random suffix (as
// a pod's name has one), so that replicas on one host differ.
func replicaID(cfg Config) string {
	if cfg.ReplicaID != "" {
		return cfg.ReplicaID
	}
	host, _ := os.Hostname()
	host = strings.ToLower(host)
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	host = strings.Trim(host, "-")
	if len(host) > 50 {
		host = host[:50]
	}
	if host == "" {
		host = "herd"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// newReplica opens the peer listener and issues this replica's peer
// certificate from Herd's CA.
func (s *Server) newReplica(ca *certs.Authority) (*replica, error) {
	id := replicaID(s.cfg)
	listen := s.cfg.PeerListen
	if listen == "" {
		host, _, _ := net.SplitHostPort(s.cfg.Listen)
		listen = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on --peer-listen %s: %w", listen, err)
	}
	advertise := s.cfg.PeerAdvertise
	if advertise == "" {
		advertise = advertised(ln.Addr().(*net.TCPAddr))
	}
	host, _, _ := net.SplitHostPort(advertise)
	leaf := certs.Leaf{CommonName: id, Organizations: []string{tunnel.PeerOrganization}, Server: true, Client: true}
	if ip := net.ParseIP(host); ip != nil {
		leaf.IPs = []net.IP{ip}
	} else {
		leaf.DNSNames = []string{host}
	}
	cert, err := ca.Issue(leaf, 365*24*time.Hour)
	if err != nil {
		ln.Close()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	r := &replica{listener: ln}
	r.members, err = membership.New(membership.Config{Kube: s.kube, Namespace: wellknown.Namespace, ID: id, PeerAddress: advertise,
		LeaseDuration: s.cfg.ReplicaLease, Logger: s.cfg.Logger, Now: s.cfg.Now, OnChange: s.replicasChanged, Unlinked: s.unlinkedPeers})
	if err != nil {
		ln.Close()
		return nil, err
	}
	r.peering = &clusters.Peering{ID: id, Certificate: tls.Certificate{Certificate: cert.Certificate, PrivateKey: cert.PrivateKey, Leaf: cert.Leaf},
		CA: pool, Known: r.members.Known}
	return r, nil
}

// advertised is the address other replicas dial for a listener: its own,
// or for an unspecified one the pod's IP ($POD_IP) or this host's first
// address that is not loopback.
func advertised(addr *net.TCPAddr) string {
	port := fmt.Sprint(addr.Port)
	if !addr.IP.IsUnspecified() {
		return net.JoinHostPort(addr.IP.String(), port)
	}
	if ip := os.Getenv("POD_IP"); net.ParseIP(ip) != nil {
		return net.JoinHostPort(ip, port)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return net.JoinHostPort(n.IP.String(), port)
			}
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// unlinkedPeers lists the ready replicas this one has no peer link to.
func (s *Server) unlinkedPeers() []string {
	if s.clusters == nil || s.clusters.Peers() == nil {
		return nil
	}
	return s.clusters.Peers().Unlinked()
}

// replicasChanged follows the ready replicas: links to each, and every
// cluster's owner checked again.
func (s *Server) replicasChanged() {
	if s.clusters == nil || s.replica == nil {
		return
	}
	if !s.replica.members.Healthy() && !s.replica.members.Leaving() {
		s.clusters.Fence()
	}
	peers := map[string]string{}
	for _, m := range s.replica.members.Ready() {
		if m.ID != s.replica.members.ID() {
			peers[m.ID] = m.PeerAddress
		}
	}
	if p := s.clusters.Peers(); p != nil {
		p.Sync(peers)
	}
	s.clusters.Resync()
}

// runReplica serves the peer listener, keeps the Lease and the clusters'
// ownership until stopReplica.
func (s *Server) runReplica() {
	ctx, cancel := context.WithCancel(context.WithoutCancel(s.baseCtx))
	r := s.replica
	r.cancel, r.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.clusters.Peers().Serve(r.listener); err != nil {
			s.cfg.Logger.Error("peer listener stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := r.members.Run(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("replica membership stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := s.clusters.RunOwnership(ctx); err != nil {
			s.cfg.Logger.Error("cluster ownership stopped", "err", err)
		}
	})
	go func() { wg.Wait(); close(r.done) }()
}

// stopReplica ends the peer links, deletes the Lease and waits; it may be
// called more than once.
func (s *Server) stopReplica() {
	r := s.replica
	if r == nil {
		return
	}
	if s.clusters != nil && s.clusters.Peers() != nil {
		s.clusters.Peers().Close()
	}
	r.listener.Close()
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// leave hands this replica's clusters to the others before it stops.
func (s *Server) leave() {
	if s.replica == nil {
		return
	}
	s.replica.members.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s.clusters.HandOver(ctx)
}

// caFiles are where the CA lives in the data dir.
func caFiles(dataDir string) (crt, key string) {
	dir := filepath.Join(dataDir, "tls")
	return filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
}
