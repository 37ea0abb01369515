package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"herd.dev/herd/internal/auditlog"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/providers"
	"herd.dev/herd/internal/recording"
)

// Config configures a Herd server. Zero values are documented per field.
type Config struct {
	// DataDir holds the embedded management cluster and the generated TLS
	// files. Empty: ~/.herd/server.
	DataDir string
	// Kubeconfig of an existing management cluster. Empty: start an
	// embedded one under DataDir.
	Kubeconfig string
	// InCluster makes the management cluster the one this process runs in
	// as a pod, reached with the pod's service account (--in-cluster, as
	// the Helm chart runs it).
	InCluster bool
	// Listen is the HTTPS address. Empty: ":8443".
	Listen string
	// TLSCert and TLSKey are a serving certificate and key (PEM); both or
	// neither. Empty: a CA and serving certificate generated under DataDir.
	TLSCert, TLSKey string
	// TLSCA (PEM), with TLSCert, is the CA bundle that signed it: it is
	// served at /cacerts, pinned by agents and herdctl and embedded in
	// kubeconfigs, so that a certificate renewed under the same CA changes
	// nothing for them. Without it, clients trust TLSCert's chain as is.
	TLSCA string
	// TLSSANs are more DNS names and IP addresses for the generated serving
	// certificate (--tls-san), which holds localhost, the loopback
	// addresses, this host's name and the host of ServerURL already. A
	// certificate kept from before gets the missing ones, for the same key.
	TLSSANs []string
	// KubeBinDir holds the Kubernetes binaries of the embedded management
	// cluster, and of the local machine driver's machines. Empty:
	// localcluster.DefaultBinDir().
	KubeBinDir string
	// HerdBinary is the herd binary that the local machine driver's
	// machines run `herd node-agent` of. Empty: this executable.
	HerdBinary string
	// MachineSubnet is the first three octets of the local machine
	// driver's machine addresses, in 127/8. Empty: "127.77.0".
	MachineSubnet string
	// LocalStopWithServer makes the local machine driver's machines and
	// the local hosted provider's clusters end with this process (tests),
	// instead of outliving it as VMs and cloud clusters would.
	LocalStopWithServer bool
	// HostedImageArchive is the image archive (Herd's image) that the
	// local hosted provider's real nodes run. Empty:
	// localcluster.DefaultImageArchive().
	HostedImageArchive string
	// Logger receives structured logs. Nil: discard.
	Logger *slog.Logger
	// Now is the clock that token lifetimes, expiry and status times are
	// read from (deadlines of requests use the wall clock). Nil: time.Now.
	Now func() time.Time

	// BootstrapPassword is the password of the first admin, created when
	// no user "admin" exists (from HERD_BOOTSTRAP_PASSWORD). Empty: one is
	// generated, written once to BootstrapOut and to
	// DataDir/bootstrap-password (mode 0600), and never logged.
	BootstrapPassword string
	// BootstrapOut receives the generated bootstrap password. Nil: discard
	// (the file under DataDir still has it).
	BootstrapOut io.Writer
	// ServerURL is the https URL that downstream agents use to reach the
	// server, written into import manifests. Empty: https:// and the host
	// that the client fetching the manifest used.
	ServerURL string
	// AgentImage is the image of the agent in import manifests. Empty:
	// importmanifest.DefaultImage().
	AgentImage string
	// TokenTTLs are token lifetimes. Zero fields: 16h sessions, 30 days for
	// kubeconfig tokens, no further maximum.
	TokenTTLs authn.TTLs
	// RegistrationTokenTTL is the lifetime of cluster registration tokens.
	// Zero: 24 hours.
	RegistrationTokenTTL time.Duration
	// LoginFailureLimit is the number of failed logins per username per
	// LoginFailureWindow before logins answer 429; a source address may
	// fail four times as often. Zero: 5.
	LoginFailureLimit int
	// LoginFailureWindow: zero means one minute.
	LoginFailureWindow time.Duration
	// ReplicaID names this replica among the replicas sharing the
	// management cluster (--replica-id), a DNS label. Empty: the host name
	// with a random suffix.
	ReplicaID string
	// PeerListen is the address of the listener other replicas link to
	// (--peer-listen). Empty: the host of Listen, a free port.
	PeerListen string
	// PeerAdvertise is the HOST:PORT other replicas dial for PeerListen
	// (--peer-advertise). Empty: the listener's address; for an
	// unspecified host, $POD_IP or this host's first non-loopback address.
	PeerAdvertise string
	// ReplicaLease is how long a replica's Lease counts without renewal:
	// a replica that dies loses its clusters to the others within it
	// (--replica-lease). Zero: 4 seconds.
	ReplicaLease time.Duration
	// LeaseDuration is the leader election lease. Zero: 15 seconds.
	LeaseDuration time.Duration
	// TokenUseFlush is how often lastUsedAt updates are written. Zero: 10s.
	TokenUseFlush time.Duration
	// GroupRefresh is how often users' groups are read again from their
	// identity providers (--group-refresh-interval). Zero: one hour.
	GroupRefresh time.Duration
	// MaxTokensPerUser bounds a user's live tokens (--max-tokens-per-user):
	// creating one more answers 403; a login past it ends the user's oldest
	// session instead. Zero: 100.
	MaxTokensPerUser int
	// MaxConcurrentLogins bounds the password checks running at once
	// (--max-concurrent-logins); a login that finds no slot within a second,
	// or finds four per slot already waiting, answers 503 with Retry-After.
	// Zero: half the CPUs Go may use (at least one), so that a flood of
	// logins leaves the other half to everything else.
	MaxConcurrentLogins int
	// MaxLoginFlows bounds the browser logins that are started and not yet
	// finished or expired, across replicas. Zero: 1000.
	MaxLoginFlows int
	// RequestReadTimeout and RequestWriteTimeout bound how long a request
	// that does not stream (everything but the proxy and the tunnel) may
	// take to arrive and to be answered. Zero: 30 s and one minute.
	RequestReadTimeout, RequestWriteTimeout time.Duration
	// Listener, if set, is used instead of listening on Listen (tests,
	// socket activation); the server closes it.
	Listener net.Listener
	// AuditLevel is how much the audit lines hold (--audit-log-level):
	// auditlog.Off, Metadata, RequestBody or ResponseBody. Nil: Metadata.
	AuditLevel *auditlog.Level
	// AuditLogPath is where the audit lines go (--audit-log-path): a file,
	// rotated at AuditLogMaxSizeMB into AuditLogMaxBackups older files, or
	// "-" for stdout, as JSON lines. Empty: with the server's log.
	AuditLogPath string
	// Zero: 100 MB and 10 files.
	AuditLogMaxSizeMB, AuditLogMaxBackups int
	// ExecRecording is the recording policy of interactive exec and attach
	// sessions through the proxy (--exec-recording): recording.Off, On or
	// Required. Empty: On.
	ExecRecording recording.Policy
	// ExecRecordingInput records what users type too (--exec-recording-input).
	ExecRecordingInput bool
	// ExecRecordingMaxSize bounds one session's recording
	// (--exec-recording-max-size). Zero: 64 MiB.
	ExecRecordingMaxSize int64
	// ExecRecordingRetention is how long recordings are kept
	// (--exec-recording-retention). Zero: 30 days.
	ExecRecordingRetention time.Duration
	// Providers build the identity providers by AuthConfig type. Nil:
	// providers.Factories() (OpenLDAP, Active Directory, GitHub, OIDC).
	Providers map[string]authn.ProviderFactory
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
	if c.InCluster && c.Kubeconfig != "" {
		return fmt.Errorf("%w: --in-cluster and --kubeconfig both name the management cluster: give one", ErrConfig)
	}
	if len(c.TLSSANs) > 0 && c.TLSCert != "" {
		return fmt.Errorf("%w: --tls-san names go into the generated certificate: with --tls-cert, put them into that certificate", ErrConfig)
	}
	for _, n := range c.TLSSANs {
		if net.ParseIP(n) == nil && len(validation.IsDNS1123Subdomain(strings.TrimPrefix(n, "*."))) > 0 {
			return fmt.Errorf("%w: --tls-san %q must be a DNS name or an IP address", ErrConfig, n)
		}
	}
	if c.TLSCA != "" && c.TLSCert == "" {
		return fmt.Errorf("%w: --tls-ca is the CA of --tls-cert: give --tls-cert and --tls-key with it", ErrConfig)
	}
	for flag, path := range map[string]string{"--tls-cert": c.TLSCert, "--tls-key": c.TLSKey, "--tls-ca": c.TLSCA, "--kubeconfig": c.Kubeconfig} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrConfig, flag, path, err)
		}
	}
	if c.ServerURL != "" {
		u, err := url.Parse(c.ServerURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("%w: --server-url %q must be https://HOST[:PORT]", ErrConfig, c.ServerURL)
		}
	}
	if c.PeerListen != "" {
		if _, port, err := net.SplitHostPort(c.PeerListen); err != nil || port == "" {
			return fmt.Errorf("%w: --peer-listen %q must be HOST:PORT or :PORT", ErrConfig, c.PeerListen)
		}
	}
	if c.PeerAdvertise != "" {
		if host, port, err := net.SplitHostPort(c.PeerAdvertise); err != nil || host == "" || port == "" || port == "0" {
			return fmt.Errorf("%w: --peer-advertise %q must be HOST:PORT", ErrConfig, c.PeerAdvertise)
		}
	}
	if c.ReplicaID != "" && len(validation.IsDNS1123Label(c.ReplicaID)) > 0 {
		return fmt.Errorf("%w: --replica-id %q must be a DNS label: lower-case letters, digits and '-', at most 63", ErrConfig, c.ReplicaID)
	}
	if c.AuditLevel != nil {
		if _, err := auditlog.ParseLevel(int(*c.AuditLevel)); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if c.ExecRecording != "" {
		if _, err := recording.ParsePolicy(string(c.ExecRecording)); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if c.ExecRecordingMaxSize < 0 || c.ExecRecordingRetention < 0 {
		return fmt.Errorf("%w: --exec-recording-max-size and --exec-recording-retention must not be negative", ErrConfig)
	}
	if c.AuditLogMaxSizeMB < 0 || c.AuditLogMaxBackups < 0 {
		return fmt.Errorf("%w: --audit-log-max-size and --audit-log-max-backups must not be negative", ErrConfig)
	}
	if c.AuditLogPath != "" && c.AuditLogPath != "-" {
		if st, err := os.Stat(filepath.Dir(c.AuditLogPath)); err != nil || !st.IsDir() {
			return fmt.Errorf("%w: --audit-log-path %q: its folder must exist", ErrConfig, c.AuditLogPath)
		}
	}
	if c.MaxTokensPerUser < 0 || c.MaxConcurrentLogins < 0 || c.MaxLoginFlows < 0 {
		return fmt.Errorf("%w: --max-tokens-per-user, --max-concurrent-logins and the login flow limit must not be negative", ErrConfig)
	}
	if c.BootstrapPassword != "" {
		if err := authn.CheckPassword(c.BootstrapPassword); err != nil {
			return fmt.Errorf("%w: HERD_BOOTSTRAP_PASSWORD: %v", ErrConfig, err)
		}
	}
	for flag, d := range map[string]time.Duration{"--session-ttl": c.TokenTTLs.Session, "--kubeconfig-token-ttl": c.TokenTTLs.Kubeconfig,
		"--max-token-ttl": c.TokenTTLs.Max, "--registration-token-ttl": c.RegistrationTokenTTL, "--group-refresh-interval": c.GroupRefresh,
		"--replica-lease": c.ReplicaLease, "the request read timeout": c.RequestReadTimeout, "the request write timeout": c.RequestWriteTimeout} {
		if d < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrConfig, flag)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.AuditLogMaxSizeMB == 0 {
		c.AuditLogMaxSizeMB = 100
	}
	if c.AuditLogMaxBackups == 0 {
		c.AuditLogMaxBackups = 10
	}
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
	if c.BootstrapOut == nil {
		c.BootstrapOut = io.Discard
	}
	if c.RegistrationTokenTTL == 0 {
		c.RegistrationTokenTTL = 24 * time.Hour
	}
	if c.LoginFailureLimit == 0 {
		c.LoginFailureLimit = 5
	}
	if c.LoginFailureWindow == 0 {
		c.LoginFailureWindow = time.Minute
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.GroupRefresh == 0 {
		c.GroupRefresh = time.Hour
	}
	if c.RequestReadTimeout == 0 {
		c.RequestReadTimeout = 30 * time.Second
	}
	if c.RequestWriteTimeout == 0 {
		c.RequestWriteTimeout = time.Minute
	}
	if c.MaxTokensPerUser == 0 {
		c.MaxTokensPerUser = 100
	}
	if c.MaxConcurrentLogins == 0 {
		c.MaxConcurrentLogins = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if c.MaxLoginFlows == 0 {
		c.MaxLoginFlows = 1000
	}
	if c.Providers == nil {
		c.Providers = providers.Factories()
	}
	return c
}
