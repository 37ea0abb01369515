// Package agent is the cluster agent (`herd agent`): it runs in a
// downstream cluster, checks the Herd server against the pinned CA
// checksum, registers the cluster's kube-apiserver endpoint, CA and its own
// service account credential, and holds the tunnel over which the server
// reaches that kube-apiserver, and nothing else.
package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// ErrConfig prefixes configuration errors.
var ErrConfig = errors.New("agent: invalid configuration")

// Config configures the agent. Zero values are documented per field.
type Config struct {
	// Server is the Herd server's https URL (HERD_SERVER, --server).
	Server string
	// Token is the cluster registration token (HERD_TOKEN, --token).
	Token string
	// TokenFile holds the registration token instead (--token-file): it
	// is read when the agent starts, so whoever renews the token (Herd's
	// plan, for the agent of a provisioned cluster) need not restart it.
	TokenFile string
	// CAChecksum is the sha256 of the server's CA bundle
	// (HERD_CA_CHECKSUM, --ca-checksum); the server is refused on a mismatch.
	CAChecksum string
	// Kubeconfig reaches the local kube-apiserver with a bearer token
	// (--kubeconfig). Empty: the in-cluster service account.
	Kubeconfig string
	// MinBackoff and MaxBackoff bound the reconnect waits. Zero: 1 s and 10 s (tunnel.DefaultMinBackoff and DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// HealthAddr is where /healthz and /readyz (ready while the tunnel is
	// up) are served (--health-addr). Empty: nowhere.
	HealthAddr string
	// KeepAlive is the tunnel ping interval. Zero: the tunnel default.
	KeepAlive time.Duration
	// Logger; nil: discard.
	Logger *slog.Logger
}

var hexChecksum = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks the configuration; errors name the flag at fault. It
// reads TokenFile into Token.
func (c *Config) Validate() error {
	if c.TokenFile != "" {
		if c.Token != "" {
			return fmt.Errorf("%w: give --token (HERD_TOKEN) or --token-file, not both", ErrConfig)
		}
		data, err := readSmall(c.TokenFile, 512)
		if err != nil {
			return fmt.Errorf("%w: --token-file: %w", ErrConfig, err)
		}
		c.Token = strings.TrimSpace(string(data))
	}
	u, err := url.Parse(c.Server)
	switch {
	case c.Server == "":
		return fmt.Errorf("%w: --server (HERD_SERVER) is required", ErrConfig)
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%w: --server %q must be https://HOST[:PORT]", ErrConfig, c.Server)
	case c.Token == "" || len(c.Token) > 512 || strings.ContainsAny(c.Token, " \r\n\t"):
		return fmt.Errorf("%w: --token (HERD_TOKEN) or --token-file must give the registration token from the import manifest", ErrConfig)
	case !hexChecksum.MatchString(c.CAChecksum):
		return fmt.Errorf("%w: --ca-checksum (HERD_CA_CHECKSUM) must be 64 lowercase hex digits", ErrConfig)
	}
	return nil
}

// readSmall reads a file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
