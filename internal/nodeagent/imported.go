package nodeagent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"herd.dev/herd/internal/tunnel"
)

// ImportedConfig runs the node agent of a node of an imported cluster (the
// import manifest's DaemonSet): it has no plan, and holds the cluster's
// fallback tunnel, with the node agents' token that the cluster agent
// stores for it, to its cluster's kube-apiserver and no other address.
type ImportedConfig struct {
	// CredentialsDir holds url, ca-checksum and token (the Secret the
	// cluster agent writes, mounted); re-read whenever the token changes.
	CredentialsDir string
	// APIServer is the kube-apiserver (host:port) the tunnel may dial.
	APIServer string
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// credentialsPoll is how often the credentials are read again.
const credentialsPoll = 10 * time.Second

// RunImported holds the fallback tunnel until ctx ends, waiting for the
// credentials while there are none and starting again when they change.
func RunImported(ctx context.Context, cfg ImportedConfig) error {
	if cfg.CredentialsDir == "" || cfg.APIServer == "" {
		return fmt.Errorf("%w: the credentials folder and the kube-apiserver address are required", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var current []byte
	var stop context.CancelFunc = func() {}
	defer func() { stop() }()
	waiting := false
	for {
		creds, err := readCredentials(cfg.CredentialsDir)
		switch {
		case err != nil:
			if !waiting {
				log.Info("no fallback tunnel yet: waiting for the node agents' credentials (the cluster agent stores them)", "err", err)
				waiting = true
			}
		case !bytes.Equal(creds.raw, current):
			stop()
			current, waiting = creds.raw, false
			tctx, cancel := context.WithCancel(ctx)
			stop = cancel
			go func() {
				if err := holdTunnel(tctx, creds, cfg.APIServer, log); err != nil && !errors.Is(err, context.Canceled) {
					log.Error("fallback tunnel ended", "err", err)
				}
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(credentialsPoll):
		}
	}
}

type importedCredentials struct {
	url, checksum, token string
	raw                  []byte
}

func readCredentials(dir string) (importedCredentials, error) {
	var vals [3]string
	for i, name := range []string{"url", "ca-checksum", "token"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return importedCredentials{}, err
		}
		vals[i] = strings.TrimSpace(string(data))
		if vals[i] == "" {
			return importedCredentials{}, fmt.Errorf("%s is empty", name)
		}
	}
	return importedCredentials{url: vals[0], checksum: vals[1], token: vals[2], raw: []byte(strings.Join(vals[:], "\n"))}, nil
}

// holdTunnel pins the server's CA and holds the node tunnel.
func holdTunnel(ctx context.Context, c importedCredentials, apiServer string, log *slog.Logger) error {
	tlsConfig, err := pinnedTLS(ctx, log, c.url, c.checksum)
	if err != nil {
		return err
	}
	return runFallback(ctx, c.url, c.token, tlsConfig, apiServer, log)
}

// runFallback holds a node tunnel to server with token, which may dial
// apiServer and no other address.
func runFallback(ctx context.Context, server, token string, tlsConfig *tls.Config, apiServer string, log *slog.Logger) error {
	return tunnel.RunAgent(ctx, tunnel.AgentConfig{
		URL:       "wss" + strings.TrimPrefix(strings.TrimSuffix(server, "/"), "https") + "/v1/node/connect",
		Header:    http.Header{"Authorization": {"Bearer " + token}},
		TLSConfig: tlsConfig,
		Allow:     func(network, addr string) bool { return network == "tcp" && addr == apiServer },
		OnConnect: func() { log.Info("fallback tunnel up", "apiServer", apiServer) },
		OnDisconnect: func(err error) {
			log.Warn("fallback tunnel down; reconnecting", "err", err)
		},
		Logger: log,
	})
}
