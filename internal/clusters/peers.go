package clusters

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"herd.dev/herd/internal/tunnel"
)

// Peering is what this replica needs to link to the others.
type Peering struct {
	// ID names this replica; Certificate is its peer certificate, issued by CA.
	ID          string
	Certificate tls.Certificate
	CA          *x509.CertPool
	// Known reports whether a replica holds a Lease.
	Known func(id string) bool
}

// Keys of what a replica holds, as announced to its peers: a cluster
// agent's tunnel, or a node agent's fallback tunnel, by session key.
const (
	agentKeyPrefix = "agent:"
	nodeKeyPrefix  = "node:"
)

// Peers is the links to the other replicas; nil without Config.Peering.
func (m *Manager) Peers() *tunnel.Peers { return m.peers }

func (m *Manager) newPeers(cfg Peering) error {
	p, err := tunnel.NewPeers(tunnel.PeerConfig{
		ID: cfg.ID, Certificate: cfg.Certificate, CA: cfg.CA, Known: cfg.Known,
		Keys:      m.heldKeys,
		Holds:     m.holds,
		Dial:      m.dialHeld,
		OnChange:  func(key string) { m.reachChanged(clusterOfKey(keySession(key))) },
		KeepAlive: m.cfg.KeepAlive,
		Logger:    m.log.With("component", "peers"),
	})
	m.peers = p
	return err
}

// keySession is the session key of a peer key.
func keySession(key string) string {
	if s, ok := strings.CutPrefix(key, agentKeyPrefix); ok {
		return s
	}
	s, _ := strings.CutPrefix(key, nodeKeyPrefix)
	return s
}

// heldKeys lists the tunnels this replica holds, as peer keys.
func (m *Manager) heldKeys() []string {
	var keys []string
	for _, k := range m.tunnel.Clusters() {
		keys = append(keys, agentKeyPrefix+k)
	}
	for _, k := range m.nodeTunnel.Clusters() {
		keys = append(keys, nodeKeyPrefix+k)
	}
	return keys
}

// holds counts the sessions of a peer key that this replica holds.
func (m *Manager) holds(key string) int {
	if s, ok := strings.CutPrefix(key, agentKeyPrefix); ok {
		return m.tunnel.Sessions(s)
	}
	if s, ok := strings.CutPrefix(key, nodeKeyPrefix); ok {
		return m.nodeTunnel.Sessions(s)
	}
	return 0
}

// dialHeld dials, for a peer, through a tunnel this replica holds.
func (m *Manager) dialHeld(ctx context.Context, key, network, addr string) (net.Conn, error) {
	if s, ok := strings.CutPrefix(key, agentKeyPrefix); ok {
		return m.tunnel.DialContext(ctx, s, network, addr)
	}
	if s, ok := strings.CutPrefix(key, nodeKeyPrefix); ok {
		return m.nodeTunnel.DialContext(ctx, s, network, addr)
	}
	return nil, tunnel.ErrNotConnected
}

// announce tells the peers that a tunnel of this replica came or went.
func (m *Manager) announce(key string) {
	if m.peers != nil {
		m.peers.Announce(key)
	}
}

// peerHolds reports whether a peer holds a tunnel of the session key.
func (m *Manager) peerHolds(session string) bool {
	if m.peers == nil {
		return false
	}
	_, agent := m.peers.Holder(agentKeyPrefix + session)
	_, node := m.peers.Holder(nodeKeyPrefix + session)
	return agent || node
}

// peerAgents counts the agent tunnels of the session key that the linked
// peers hold.
func (m *Manager) peerAgents(session string) int {
	if m.peers == nil {
		return 0
	}
	return m.peers.Sessions(agentKeyPrefix + session)
}

// peerNodeTunnel reports whether a peer holds a node tunnel of the
// session key.
func (m *Manager) peerNodeTunnel(session string) bool {
	if m.peers == nil {
		return false
	}
	_, ok := m.peers.Holder(nodeKeyPrefix + session)
	return ok
}

// dialPeers dials through a peer's agent tunnel of the session key, or
// else a peer's node tunnel.
func (m *Manager) dialPeers(ctx context.Context, session, network, addr string) (net.Conn, error) {
	if m.peers == nil {
		return nil, tunnel.ErrNotConnected
	}
	conn, err := m.peers.Dial(ctx, agentKeyPrefix+session, network, addr)
	if errors.Is(err, tunnel.ErrNotConnected) {
		return m.peers.Dial(ctx, nodeKeyPrefix+session, network, addr)
	}
	return conn, err
}
