package tunnel

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults of the zero values in ServerConfig and AgentConfig.
const (
	DefaultKeepAlive  = 5 * time.Second
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff keeps agents that lost the server within 10 s of
	// it coming back (waits are drawn from [max/2, max], so a whole fleet
	// arrives spread over 5 s rather than at once).
	DefaultMaxBackoff  = 10 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultMaxSessions = 8
)

// ServerConfig configures a Server. Zero values are documented per field.
type ServerConfig struct {
	// Authorize checks an agent's connect request (the registration token
	// in its headers) and names the cluster it speaks for. An error answers
	// 401 without upgrading. Required.
	Authorize func(r *http.Request) (clusterID string, err error)
	// OnChange is told when a cluster gains its first session (true) or
	// loses its last (false). Calls are serial and in order; it must not
	// block. Nil: none.
	OnChange func(clusterID string, connected bool)
	// OnCount is told the cluster's number of sessions whenever it changes
	// (after OnChange, when that is told too), for a display of how many
	// agents are connected. Calls are serial and in order; it must not
	// block. Nil: none.
	OnCount func(clusterID string, sessions int)
	// MaxSessions bounds the live sessions of one cluster (one per agent
	// replica); a connection past it is refused. Zero: DefaultMaxSessions.
	MaxSessions int
	// KeepAlive is the agents' ping interval (AgentConfig.KeepAlive must
	// not be longer): a session that heard nothing from its agent for
	// three intervals is closed. Zero: DefaultKeepAlive (a dead agent or
	// link is noticed within 15 s).
	KeepAlive time.Duration
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
}

// Validate checks the configuration; errors name the field at fault.
func (c *ServerConfig) Validate() error {
	if c.Authorize == nil {
		return fmt.Errorf("%w: ServerConfig.Authorize is required", ErrConfig)
	}
	if c.KeepAlive < 0 {
		return fmt.Errorf("%w: ServerConfig.KeepAlive %v is negative", ErrConfig, c.KeepAlive)
	}
	if c.MaxSessions < 0 {
		return fmt.Errorf("%w: ServerConfig.MaxSessions %d is negative", ErrConfig, c.MaxSessions)
	}
	return nil
}

func (c ServerConfig) withDefaults() ServerConfig {
	c.KeepAlive = or(c.KeepAlive, DefaultKeepAlive)
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnChange == nil {
		c.OnChange = func(string, bool) {}
	}
	if c.OnCount == nil {
		c.OnCount = func(string, int) {}
	}
	return c
}

// AgentConfig configures an Agent. Zero values are documented per field.
type AgentConfig struct {
	// URL of the server's connect endpoint, wss://host/v1/connect. Required.
	URL string
	// Header is sent with the connect request; it carries the registration
	// token. Nil: none.
	Header http.Header
	// TLSConfig verifies the server (the caller pins the CA). Nil: the
	// system roots.
	TLSConfig *tls.Config
	// Proxy picks an HTTP proxy for the connect request. Nil:
	// http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
	// Allow decides which targets the server may reach. Nil: deny all.
	Allow func(network, addr string) bool
	// DialTimeout bounds each dial of a target. Zero: DefaultDialTimeout.
	DialTimeout time.Duration
	// KeepAlive is as in ServerConfig. Zero: DefaultKeepAlive.
	KeepAlive time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// connection attempts. Zero: DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// OnConnect is called when a session is up. Nil: none.
	OnConnect func()
	// OnDisconnect is called when a session that OnConnect announced ends,
	// with the reason. Failed connection attempts are only logged. Nil: none.
	OnDisconnect func(err error)
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
}

// Validate checks the configuration; errors name the field at fault.
func (c *AgentConfig) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return fmt.Errorf("%w: AgentConfig.URL is required", ErrConfig)
	case err != nil || u.Scheme != "wss" || u.Host == "":
		return fmt.Errorf("%w: AgentConfig.URL %q must be wss://HOST/PATH", ErrConfig, c.URL)
	case c.DialTimeout < 0 || c.KeepAlive < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0:
		return fmt.Errorf("%w: AgentConfig durations must not be negative", ErrConfig)
	case c.MaxBackoff != 0 && c.MaxBackoff < or(c.MinBackoff, DefaultMinBackoff):
		return fmt.Errorf("%w: AgentConfig.MaxBackoff %v is below MinBackoff", ErrConfig, c.MaxBackoff)
	}
	return nil
}

func (c AgentConfig) withDefaults() AgentConfig {
	c.DialTimeout = or(c.DialTimeout, DefaultDialTimeout)
	c.KeepAlive = or(c.KeepAlive, DefaultKeepAlive)
	c.MinBackoff = or(c.MinBackoff, DefaultMinBackoff)
	c.MaxBackoff = or(c.MaxBackoff, max(DefaultMaxBackoff, c.MinBackoff))
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.Allow == nil {
		c.Allow = func(string, string) bool { return false }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnConnect == nil {
		c.OnConnect = func() {}
	}
	if c.OnDisconnect == nil {
		c.OnDisconnect = func(error) {}
	}
	return c
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
