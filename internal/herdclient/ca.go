package herdclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"herd.dev/herd/internal/certs"
)

// ErrCAChecksumMismatch means the CA bundle a server serves is not the one
// the checksum names: the checksum is wrong or someone is in the way.
var ErrCAChecksumMismatch = errors.New("herdclient: the server's CA checksum does not match")

// CACertsPath serves the server's CA bundle, unauthenticated.
const CACertsPath = "/cacerts"

// Checksum is the sha256 in hex of a CA bundle, the value administrators
// hand out to pin a server.
func Checksum(bundle []byte) string { return certs.Checksum(bundle) }

func checksumEqual(got, want string) bool {
	return strings.EqualFold(got, strings.TrimSpace(want))
}

// FetchCA gets the CA bundle from server's /cacerts without verifying the
// server, and returns it only if its sha256 is checksum. The bundle can then
// be trusted (Config.CACert): whoever answered holds a key the pinned CA
// vouches for, or the next request fails verification.
func FetchCA(ctx context.Context, server, checksum string) ([]byte, error) {
	return fetchCA(ctx, server, checksum, 0)
}

func fetchCA(ctx context.Context, server, checksum string, timeout time.Duration) ([]byte, error) {
	base, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(checksum) == "" {
		return nil, errors.New("herdclient: empty CA checksum")
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Trust comes from the checksum below, not from the handshake.
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: timeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+CACertsPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the CA of %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the CA of %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to fetch the CA of %s: %s %s", base, CACertsPath, resp.Status)
	}
	if got := Checksum(body); !checksumEqual(got, checksum) {
		return nil, fmt.Errorf("%w: %s serves a CA with checksum %s, not %s; check the value your administrator gave you",
			ErrCAChecksumMismatch, base, got, strings.TrimSpace(checksum))
	}
	if _, err := certPool(body); err != nil {
		return nil, fmt.Errorf("failed to use the CA of %s: %w", base, err)
	}
	return body, nil
}
