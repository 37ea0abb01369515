package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"
)

// configEnv names the environment variable that overrides the config path.
const configEnv = "HERDCONFIG"

// fileConfig is ~/.herd/config: where the server is, how to trust it and
// the token. It holds a secret, so it is written with mode 0600.
type fileConfig struct {
	// Server is the base URL given at login.
	Server string `json:"server,omitempty"`
	// Username is who logged in; hints reuse it.
	Username string `json:"username,omitempty"`
	// Provider is the identity provider of the login; empty for local.
	Provider string `json:"provider,omitempty"`
	// Token is the bearer token; empty once logged out.
	Token string `json:"token,omitempty"`
	// TokenName is the token's name, as `herdctl tokens list` shows it.
	TokenName string `json:"tokenName,omitempty"`
	// CACert is the PEM bundle pinned at login with --ca-checksum.
	CACert string `json:"caCert,omitempty"`
	// InsecureSkipTLSVerify is set by --insecure-skip-tls-verify.
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
	// ClusterTokens are the cluster-scoped tokens `herdctl token --cluster`
	// made, by cluster: they also work on the cluster's direct endpoint.
	ClusterTokens map[string]clusterToken `json:"clusterTokens,omitempty"`
}

// clusterToken is a cached cluster-scoped token.
type clusterToken struct {
	Token     string    `json:"token"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// configPath is $HERDCONFIG, or ~/.herd/config.
func (a *app) configPath() (string, error) {
	if p := a.getenv(configEnv); p != "" {
		return p, nil
	}
	home := a.getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("failed to find the config file: set %s or HOME: %w", configEnv, err)
		}
	}
	return filepath.Join(home, ".herd", "config"), nil
}

// loadConfig reads the config; a missing file is an empty config. A file
// others may read gets a warning: it holds a token.
func (a *app) loadConfig() (*fileConfig, string, error) {
	path, err := a.configPath()
	if err != nil {
		return nil, "", err
	}
	cfg := &fileConfig{}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		a.warnf("%s holds a token and other users may read it (mode %04o): run `chmod 600 %s`", path, mode, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if err := yaml.Unmarshal(data, cfg); err != nil {
		return nil, path, fmt.Errorf("failed to read %s: %w; fix it, or remove it and run `herdctl login` again", path, err)
	}
	return cfg, path, nil
}

// saveConfig writes cfg to path atomically (a temporary file in the same
// folder, then a rename), with mode 0600 in a folder it creates with 0700.
func saveConfig(path string, cfg *fileConfig) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	data = append([]byte("# herdctl settings, written by `herdctl login`; holds a token: keep it private\n"), data...)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.tmp")
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

// warnf prints a warning on stderr.
func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "warning: "+format+"\n", args...)
}
