// Package herdclient is a Go client for Herd's HTTP API (see package herdapi
// for the endpoints and bodies). It pins the server's CA by the checksum an
// administrator hands out, sends the bearer token and turns error responses
// into *APIError.
package herdclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// MaxResponseBytes is the largest response body the client reads.
const MaxResponseBytes = 8 << 20

// DefaultTimeout bounds each request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says which server to talk to and how to trust it.
type Config struct {
	// Server is the base URL, https://host[:port][/prefix]. Required.
	Server string
	// Token is the bearer token; empty only for the requests that log in
	// (Login, StartRedirectLogin, RedeemTicket), which never send it, and
	// ListProviders.
	Token string
	// CACert is the PEM bundle to trust, as FetchCA returned it. When
	// CAChecksum is set too, the bundle must match it.
	CACert []byte
	// CAChecksum is the sha256 in hex of the server's /cacerts bundle. Without
	// CACert the client fetches the bundle before its first request, checks it
	// against this value and trusts only it (see Client.CACert).
	CAChecksum string
	// Insecure skips verification of the server's certificate. Exclusive
	// with CACert and CAChecksum.
	Insecure bool
	// HTTPClient, if set, is used as is: its transport decides trust, and
	// CACert, CAChecksum, Insecure and Timeout must be unset.
	HTTPClient *http.Client
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
}

// Validate reports the first problem of c.
func (c Config) Validate() error {
	if _, err := parseServer(c.Server); err != nil {
		return err
	}
	if c.Insecure && (len(c.CACert) > 0 || c.CAChecksum != "") {
		return errors.New("herdclient: Insecure is exclusive with CACert and CAChecksum")
	}
	if c.HTTPClient != nil && (c.Insecure || len(c.CACert) > 0 || c.CAChecksum != "" || c.Timeout != 0) {
		return errors.New("herdclient: HTTPClient is exclusive with CACert, CAChecksum, Insecure and Timeout")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("herdclient: Timeout %s is negative", c.Timeout)
	}
	if len(c.CACert) > 0 {
		if _, err := certPool(c.CACert); err != nil {
			return err
		}
		if c.CAChecksum != "" && !checksumEqual(Checksum(c.CACert), c.CAChecksum) {
			return fmt.Errorf("%w: CACert has %s, CAChecksum is %s", ErrCAChecksumMismatch, Checksum(c.CACert), c.CAChecksum)
		}
	}
	return nil
}

// parseServer checks that server is an https URL without query or fragment
// and returns it without a trailing slash.
func parseServer(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("herdclient: Server %q is not a URL like https://herd.example.com", server)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("herdclient: Server %q must use https", server)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("herdclient: Server %q must not have credentials, a query or a fragment", server)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Client calls the Herd API. It is safe for concurrent use.
type Client struct {
	server string
	token  string

	mu     sync.Mutex
	http   *http.Client // nil until trust is settled (pinning by checksum)
	caCert []byte
	cfg    Config
}

// New checks cfg and returns a client. It does no network I/O.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	server, _ := parseServer(cfg.Server)
	c := &Client{server: server, token: cfg.Token, cfg: cfg, caCert: cfg.CACert}
	switch {
	case cfg.HTTPClient != nil:
		c.http = cfg.HTTPClient
	case cfg.CAChecksum != "" && len(cfg.CACert) == 0:
		// Settled by the first request; see httpClient.
	default:
		hc, err := newHTTPClient(cfg, cfg.CACert)
		if err != nil {
			return nil, err
		}
		c.http = hc
	}
	return c, nil
}

// Server is the base URL the client talks to.
func (c *Client) Server() string { return c.server }

// CACert is the PEM bundle the client trusts: Config.CACert, or the bundle
// fetched and checked against Config.CAChecksum (nil before the first
// request). Callers store it to skip the fetch next time.
func (c *Client) CACert() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caCert
}

// httpClient returns the HTTP client, fetching and pinning the CA first when
// only its checksum is known.
func (c *Client) httpClient(ctx context.Context) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.http != nil {
		return c.http, nil
	}
	pem, err := fetchCA(ctx, c.server, c.cfg.CAChecksum, c.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	hc, err := newHTTPClient(c.cfg, pem)
	if err != nil {
		return nil, err
	}
	c.http, c.caCert = hc, pem
	return hc, nil
}

// newHTTPClient trusts caPEM if set, nothing with cfg.Insecure, and the
// system roots otherwise.
func newHTTPClient(cfg Config, caPEM []byte) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.Insecure:
		tlsConfig.InsecureSkipVerify = true
	case len(caPEM) > 0:
		pool, err := certPool(caPEM)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Transport: transport, Timeout: timeout}, nil
}

func certPool(caPEM []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("herdclient: the CA bundle holds no PEM certificate")
	}
	return pool, nil
}

// do sends a request with body in and decodes a 2xx answer into out (both
// may be nil), with the client's token.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, method, path, in, out, true)
}

// doAnonymous is do without the token, for the requests that log in: a
// token has no business there, even if the client holds one.
func (c *Client) doAnonymous(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, method, path, in, out, false)
}

func (c *Client) send(ctx context.Context, method, path string, in, out any, bearer bool) error {
	hc, err := c.httpClient(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readLimited(resp.Body)
	if err != nil {
		return fmt.Errorf("failed to read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("failed to decode the answer to %s %s: %w", method, path, err)
	}
	return nil
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("the response is larger than %d bytes", MaxResponseBytes)
	}
	return data, nil
}

// segment escapes one path segment, refusing names a server would clean
// away or that would address another resource.
func segment(kind, name string) (string, error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("herdclient: invalid %s name %q", kind, name)
	}
	return url.PathEscape(name), nil
}
