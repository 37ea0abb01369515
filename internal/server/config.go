package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
)

// Config configures a Herd server. Zero values are documented per field.
type Config struct {
	// DataDir holds the embedded management cluster and the generated TLS
	// files. Empty: ~/.herd/server.
	DataDir string
	// Kubeconfig of an existing management cluster. Empty: start an
	// embedded one under DataDir.
	Kubeconfig string
	// Listen is the HTTPS address. Empty: ":8443".
	Listen string
	// TLSCert and TLSKey are a serving certificate and key (PEM); both or
	// neither. Empty: a CA and serving certificate generated under DataDir.
	TLSCert, TLSKey string
	// KubeBinDir holds the Kubernetes binaries of the embedded management
	// cluster. Empty: localcluster.DefaultBinDir().
	KubeBinDir string
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
}

// ErrConfig prefixes configuration errors.
var ErrConfig = errors.New("server: invalid configuration")

// Validate checks the configuration; errors name the flag at fault.
func (c *Config) Validate() error {
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			return fmt.Errorf("%w: --listen %q must be HOST:PORT or :PORT", ErrConfig, c.Listen)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together: give both or neither", ErrConfig)
	}
	for flag, path := range map[string]string{"--tls-cert": c.TLSCert, "--tls-key": c.TLSKey, "--kubeconfig": c.Kubeconfig} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrConfig, flag, path, err)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		c.DataDir = filepath.Join(home, ".herd", "server")
	}
	if c.Listen == "" {
		c.Listen = ":8443"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
