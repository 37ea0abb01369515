package clusterstatus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
)

// ErrInvalidConfig is wrapped by every error of Config.Validate.
var ErrInvalidConfig = errors.New("clusterstatus: invalid config")

// Defaults of the Config durations.
const (
	DefaultMinInterval    = 5 * time.Second
	DefaultReadyzInterval = 10 * time.Second
	DefaultHeartbeat      = 10 * time.Second
)

// maxProbeTimeout bounds one /readyz or /version request; probes also time
// out after ReadyzInterval so that they never overlap.
const maxProbeTimeout = 5 * time.Second

// Config configures the Controller of one downstream cluster. Zero values
// are documented per field.
type Config struct {
	// Cluster is the name of the Cluster object whose status is written.
	// Required.
	Cluster string
	// Kube reaches the downstream kube-apiserver (through the agent's
	// tunnel). It needs list and watch on nodes and pods, and GET /readyz
	// and /version. Required.
	Kube kubernetes.Interface
	// Writer records what was observed. Required.
	Writer Writer
	// Logger; nil: discard.
	Logger *slog.Logger
	// Now is the clock of lastSeen and the Ready condition's
	// lastTransitionTime. Nil: time.Now.
	Now func() time.Time
	// MinInterval: at most one status write per interval, however many
	// nodes and pods change. Zero: DefaultMinInterval (5s).
	MinInterval time.Duration
	// ReadyzInterval is how often /readyz is probed. Zero:
	// DefaultReadyzInterval (10s).
	ReadyzInterval time.Duration
	// Heartbeat: the status (and so lastSeen) is rewritten at least this
	// often even when nothing changed. Zero: DefaultHeartbeat (10s).
	Heartbeat time.Duration
}

// Validate reports the first missing or invalid field. Zero durations are
// valid (they mean the defaults); negative ones are not.
func (c Config) Validate() error {
	switch {
	case c.Cluster == "":
		return fmt.Errorf("%w: Cluster is required", ErrInvalidConfig)
	case c.Kube == nil:
		return fmt.Errorf("%w: Kube is required", ErrInvalidConfig)
	case c.Writer == nil:
		return fmt.Errorf("%w: Writer is required", ErrInvalidConfig)
	case c.MinInterval < 0:
		return fmt.Errorf("%w: MinInterval must not be negative, got %v", ErrInvalidConfig, c.MinInterval)
	case c.ReadyzInterval < 0:
		return fmt.Errorf("%w: ReadyzInterval must not be negative, got %v", ErrInvalidConfig, c.ReadyzInterval)
	case c.Heartbeat < 0:
		return fmt.Errorf("%w: Heartbeat must not be negative, got %v", ErrInvalidConfig, c.Heartbeat)
	}
	return nil
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MinInterval == 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.ReadyzInterval == 0 {
		c.ReadyzInterval = DefaultReadyzInterval
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	return c
}

// probeTimeout is the timeout of one request of a probe.
func (c Config) probeTimeout() time.Duration {
	return min(c.ReadyzInterval, maxProbeTimeout)
}
