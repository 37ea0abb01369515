// Package nodeagent is the node agent of a machine: it registers the
// machine with Herd (the cluster's registration token, its roles, address,
// labels and taints), keeps the machine credential it gets in its root
// folder, and applies the machine's plan: files written under the root,
// one-time instructions in order, processes kept running, probes checked.
// It reports the plan's state back. Its progress through a plan is kept in
// the root too, so an agent that crashed mid-plan goes on where it
// stopped when it comes back; an instruction that fails is tried again up
// to a bounded number of times per plan revision.
//
// The processes of a plan are children of the node agent and end with it
// (it is their supervisor, as a kubelet is of static pods); they start
// again when the agent comes back.
package nodeagent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// ErrConfig: the node agent cannot start as configured.
var ErrConfig = errors.New("nodeagent: invalid configuration")

// Config configures a node agent.
type Config struct {
	// Server is Herd's https URL; CAChecksum pins its CA.
	Server, CAChecksum string
	// Token is the cluster's registration token; needed only until the
	// machine is registered.
	Token string
	// Root is the machine's folder: credential, plan state, plan files,
	// process logs.
	Root string
	// Registration is what the machine registers as.
	Registration herdapi.NodeRegistration
	// BinDir holds the machine's Kubernetes binaries (etcd,
	// kube-apiserver, kubectl, kwok...): plan commands find them on PATH,
	// with herd itself, and as $HERD_BIN_DIR.
	BinDir string
	// VersionsDir holds a folder of binaries per Kubernetes version
	// (v1.36.3/, v1.37.2/...): a plan command whose environment names
	// HERD_KUBERNETES_VERSION finds that version's binaries first on its
	// PATH. Empty: the folder that holds BinDir.
	VersionsDir string
	// Poll is how often the plan is read. Zero: 5 s.
	Poll time.Duration
	// MaxTries bounds the tries of one instruction per plan revision.
	// Zero: 3.
	MaxTries int
	// APIServer is this machine's own kube-apiserver (host:port). On a
	// control-plane machine the node agent then holds the cluster's
	// fallback tunnel, through which Herd reaches that address, and no
	// other, when no cluster agent is connected. Empty: no fallback
	// tunnel.
	APIServer string
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// credentialFile holds the machine's name and credential under Root.
const credentialFile = "credential.json"

type credential struct {
	MachineName string `json:"machineName"`
	ClusterName string `json:"clusterName"`
	Credential  string `json:"credential"`
}

// Run registers the machine if it is not yet, then applies its plan until
// ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Server == "" || cfg.CAChecksum == "" || cfg.Root == "" {
		return fmt.Errorf("%w: --server, --ca-checksum and --root are required", ErrConfig)
	}
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.MaxTries == 0 {
		cfg.MaxTries = 3
	}
	if cfg.VersionsDir == "" && cfg.BinDir != "" {
		cfg.VersionsDir = filepath.Dir(filepath.Clean(cfg.BinDir))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return fmt.Errorf("%w: root %s: %v", ErrConfig, cfg.Root, err)
	}
	c, err := newClient(ctx, cfg)
	if err != nil {
		return err
	}
	cred, err := c.ensureCredential(ctx)
	if err != nil {
		return err
	}
	a := &agent{cfg: cfg, client: c, cred: cred, log: cfg.Logger.With("machine", cred.MachineName), env: planEnv(cfg)}
	a.log.Info("node agent running", "cluster", cred.ClusterName, "root", cfg.Root)
	if cfg.APIServer == "" {
		return a.loop(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tunnelDone := make(chan error, 1)
	go func() { tunnelDone <- a.fallbackTunnel(ctx) }()
	err = a.loop(ctx)
	cancel()
	if terr := <-tunnelDone; err == nil && terr != nil && !errors.Is(terr, context.Canceled) {
		err = terr
	}
	return err
}

// fallbackTunnel holds the cluster's node tunnel, which may reach only
// this machine's kube-apiserver.
func (a *agent) fallbackTunnel(ctx context.Context) error {
	return runFallback(ctx, a.cfg.Server, a.cred.Credential, a.client.tls, a.cfg.APIServer, a.log)
}

// planEnv is the environment of a plan's commands: this process's, with
// the machine's root and binaries.
func planEnv(cfg Config) []string {
	path := os.Getenv("PATH")
	if exe, err := os.Executable(); err == nil {
		path = filepath.Dir(exe) + string(os.PathListSeparator) + path
	}
	if cfg.BinDir != "" {
		path = cfg.BinDir + string(os.PathListSeparator) + path
	}
	// The node agent's own registration token (HERD_TOKEN) is no business
	// of the plan's processes.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HERD_TOKEN=") })
	return append(env, "PATH="+path, "HERD_MACHINE_ROOT="+cfg.Root, "HERD_BIN_DIR="+cfg.BinDir)
}

// client talks to Herd.
type client struct {
	cfg  Config
	tls  *tls.Config
	http *http.Client
}

func newClient(ctx context.Context, cfg Config) (*client, error) {
	tlsConfig, err := pinnedTLS(ctx, cfg.Logger, cfg.Server, cfg.CAChecksum)
	if err != nil {
		return nil, err
	}
	return &client{cfg: cfg, tls: tlsConfig, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig.Clone()}}}, nil
}

// pinnedTLS fetches the server's CA, checks it against checksum (retrying
// while the server cannot be reached) and returns a TLS config that
// trusts it alone.
func pinnedTLS(ctx context.Context, log *slog.Logger, server, checksum string) (*tls.Config, error) {
	var ca []byte
	err := retry(ctx, log, "fetch the server's CA", func() error {
		var err error
		ca, err = herdclient.FetchCA(ctx, server, checksum)
		if errors.Is(err, herdclient.ErrCAChecksumMismatch) {
			return permanent{err}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("refusing the server %s: %w", server, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// ensureCredential reads the machine's credential from Root, or
// registers the machine and keeps the credential there.
func (c *client) ensureCredential(ctx context.Context) (*credential, error) {
	path := filepath.Join(c.cfg.Root, credentialFile)
	if data, err := os.ReadFile(path); err == nil {
		var cred credential
		if err := json.Unmarshal(data, &cred); err != nil || cred.Credential == "" {
			return nil, fmt.Errorf("%w: %s is unreadable: remove it to register the machine again", ErrConfig, path)
		}
		return &cred, nil
	}
	if c.cfg.Token == "" {
		return nil, fmt.Errorf("%w: the machine is not registered yet: give the cluster's registration token (--token or HERD_TOKEN)", ErrConfig)
	}
	var out herdapi.NodeRegistered
	err := retry(ctx, c.cfg.Logger, "register the machine", func() error {
		return c.do(ctx, http.MethodPost, "/v1/node/register", c.cfg.Token, c.cfg.Registration, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to register the machine: %w", err)
	}
	cred := &credential{MachineName: out.MachineName, ClusterName: out.ClusterName, Credential: out.Credential}
	data, _ := json.Marshal(cred)
	if err := certs.WriteFileAtomic(path, data, 0o600); err != nil {
		return nil, err
	}
	c.cfg.Logger.Info("machine registered", "machine", out.MachineName, "cluster", out.ClusterName)
	return cred, nil
}
