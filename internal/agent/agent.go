package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"herd.dev/herd/internal/health"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
	"herd.dev/herd/internal/tunnel"
)

// Run registers the cluster and holds the tunnel until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var up atomic.Bool
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		err := health.Serve(ctx, cfg.HealthAddr, func() (bool, string) {
			if up.Load() {
				return true, "tunnel up"
			}
			return false, "tunnel down"
		}, log)
		if err != nil {
			cancel(err) // without probes the kubelet would restart the pod anyway
		}
	}()
	err := run(ctx, cfg, &up, log)
	cause := context.Cause(ctx) // the health server's error, if it failed
	cancel(nil)
	<-healthDone
	if cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	return err
}

// run registers and holds the tunnel, keeping up current.
func run(ctx context.Context, cfg Config, up *atomic.Bool, log *slog.Logger) error {
	reg, err := localRegistration(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	apiserver, err := hostPort(reg.APIEndpoint)
	if err != nil {
		return err
	}
	ca, err := fetchCA(ctx, cfg, log)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	var ic *inCluster
	if cfg.Kubeconfig == "" {
		if ic, err = newInCluster(); err != nil {
			return err
		}
		if tok := ic.longLivedToken(ctx, log); tok != "" {
			reg.Token = tok
		}
		reg.NodeToken = !ic.hasNodeCredentials(ctx)
	}
	resp, err := register(ctx, cfg, tlsConfig, reg, log)
	if err != nil {
		return err
	}
	token := resp.AgentToken
	if ic != nil {
		keepAgentToken(ctx, token, log)
		if resp.NodeToken != "" {
			ic.storeNodeCredentials(ctx, cfg.Server, cfg.CAChecksum, resp.NodeToken, log)
		}
	}
	wsURL := "wss" + strings.TrimPrefix(strings.TrimSuffix(cfg.Server, "/"), "https") + "/v1/connect"
	return tunnel.RunAgent(ctx, tunnel.AgentConfig{
		URL:        wsURL,
		Header:     http.Header{"Authorization": {"Bearer " + token}},
		TLSConfig:  tlsConfig,
		Allow:      func(network, addr string) bool { return network == "tcp" && addr == apiserver },
		MinBackoff: cfg.MinBackoff,
		MaxBackoff: cfg.MaxBackoff,
		KeepAlive:  cfg.KeepAlive,
		OnConnect: func() {
			up.Store(true)
			log.Info("tunnel up", "server", cfg.Server)
		},
		OnDisconnect: func(err error) {
			up.Store(false)
			log.Warn("tunnel down; reconnecting", "server", cfg.Server, "err", err)
		},
		Logger: log,
	})
}

// localRegistration reads what the server needs to reach the local
// kube-apiserver: endpoint, CA and a bearer credential.
func localRegistration(kubeconfig string) (*herdapi.AgentRegistration, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the local cluster's credentials: %w", err)
	}
	token := cfg.BearerToken
	if token == "" && cfg.BearerTokenFile != "" {
		data, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(data))
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	if token == "" || len(ca) == 0 {
		return nil, fmt.Errorf("%w: the agent needs a service account token and the apiserver CA (in-cluster, or a kubeconfig with token and certificate-authority-data)", ErrConfig)
	}
	host := cfg.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	return &herdapi.AgentRegistration{APIEndpoint: host, CACert: string(ca), Token: token}, nil
}

// hostPort is the address the agent may dial for endpoint.
func hostPort(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("%w: the local apiserver %q is not an https URL", ErrConfig, endpoint)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return u.Host, nil
}

// fetchCA reads the server's CA bundle and checks it against the pinned
// checksum. A server that cannot be reached yet may be there later: it
// retries with backoff until ctx ends, the pod up and not ready, its log
// saying why. A server that answers with another CA (a man in the middle,
// or a manifest from another server) is refused at once: the agent ends,
// and its pod's restarts show that something is wrong.
func fetchCA(ctx context.Context, cfg Config, log *slog.Logger) ([]byte, error) {
	wait := max(cfg.MinBackoff, time.Second)
	for {
		ca, err := herdclient.FetchCA(ctx, cfg.Server, cfg.CAChecksum)
		if err == nil {
			return ca, nil
		}
		if errors.Is(err, herdclient.ErrCAChecksumMismatch) {
			return nil, fmt.Errorf("refusing the server %s: %w", cfg.Server, err)
		}
		log.Warn("cannot reach the server yet; retrying", "server", cfg.Server, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("refusing the server %s: %w", cfg.Server, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, max(cfg.MaxBackoff, time.Minute))
	}
}

// register reports the registration, retrying with backoff on failures
// that may pass (network, 5xx); a refused token ends the agent. It returns
// the cluster's agent token.
func register(ctx context.Context, cfg Config, tlsConfig *tls.Config, reg *herdapi.AgentRegistration, log *slog.Logger) (*herdapi.AgentRegistrationResponse, error) {
	body, _ := json.Marshal(reg)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	wait := max(cfg.MinBackoff, time.Second)
	for {
		resp, err := registerOnce(ctx, client, cfg, body)
		if err == nil || errors.Is(err, errRefused) {
			if err == nil {
				log.Info("registered", "server", cfg.Server, "apiEndpoint", reg.APIEndpoint)
			}
			return resp, err
		}
		log.Warn("registration failed; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, max(cfg.MaxBackoff, time.Minute))
	}
}

var errRefused = errors.New("agent: the server refused the registration")

func registerOnce(ctx context.Context, client *http.Client, cfg Config, body []byte) (*herdapi.AgentRegistrationResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cfg.Server, "/")+"/v1/agent/register", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		var out herdapi.AgentRegistrationResponse
		if err := json.Unmarshal(msg, &out); err != nil || out.AgentToken == "" {
			return nil, fmt.Errorf("%w: the server sent no agent token", errRefused)
		}
		return &out, nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, fmt.Errorf("%w (%d: %s): the registration token may be expired or rotated; re-run the cluster's import command", errRefused, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil, fmt.Errorf("server answered %d", resp.StatusCode)
}
