package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"herd.dev/herd/internal/authn"
)

// userAgent names Herd to GitHub, which refuses requests without one.
const userAgent = "herd"

// maxResponseBytes bounds every response body read from GitHub.
const maxResponseBytes = 1 << 20

var errTooLarge = errors.New("response over 1 MiB")

// apiError is an answer of GitHub's API other than 200, that is not
// GitHub being unavailable.
type apiError struct {
	method, path string
	status       int
	message      string // GitHub's "message", bounded
}

func (e *apiError) Error() string {
	return fmt.Sprintf("github: %s %s: HTTP %d: %s", e.method, e.path, e.status, e.message)
}

// statusOf returns the HTTP status of an apiError, or 0.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// get reads one JSON document of the API with token into v. target is a
// path under the API URL, or a full URL from a Link header (which must be
// under the API URL: the token goes nowhere else). It returns the next
// page's URL, if any.
func (p *Provider) get(ctx context.Context, token, target string, v any) (string, error) {
	url := target
	if !strings.HasPrefix(target, p.cfg.APIURL+"/") {
		if !strings.HasPrefix(target, "/") || strings.Contains(target, "://") || strings.HasPrefix(target, "//") {
			return "", fmt.Errorf("github: refusing to send a token to %s, outside the API URL", target)
		}
		url = p.cfg.APIURL + target
	}
	path := strings.TrimPrefix(url, p.cfg.APIURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("github: GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return "", unavailable("GET "+path, err)
	}
	defer resp.Body.Close()
	body, err := readBody("GET "+path, resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", p.statusError(http.MethodGet, path, resp, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return "", fmt.Errorf("github: GET %s: bad JSON: %s", path, truncate(err.Error()))
	}
	return nextLink(resp.Header.Get("Link")), nil
}

// statusError is authn.ErrProviderUnavailable for a failing or rate
// limiting GitHub, an *apiError otherwise.
func (p *Provider) statusError(method, path string, resp *http.Response, body []byte) error {
	var msg struct {
		Message string `json:"message"`
	}
	json.Unmarshal(body, &msg)
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0")
	if resp.StatusCode >= 500 || limited {
		return fmt.Errorf("%w: github: %s %s: HTTP %d %s", authn.ErrProviderUnavailable, method, path, resp.StatusCode, truncate(msg.Message))
	}
	return &apiError{method: method, path: path, status: resp.StatusCode, message: truncate(msg.Message)}
}

// listAll reads every page of a listing, at most MaxPages; a longer one is
// cut short with a warning (fewer groups never grant more).
func listAll[T any](ctx context.Context, p *Provider, token, path string) ([]T, error) {
	var all []T
	next := path
	for page := 0; next != ""; page++ {
		if page == p.cfg.MaxPages {
			p.log.Warn("GitHub listing cut short", "path", path, "pages", page)
			break
		}
		var items []T
		var err error
		if next, err = p.get(ctx, token, next, &items); err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(header string) string {
	for _, part := range strings.Split(header, ",") {
		if m := linkNext.FindStringSubmatch(part); m != nil {
			return m[1]
		}
	}
	return ""
}

// readBody reads a response body of at most maxResponseBytes; one cut
// off by the network is authn.ErrProviderUnavailable.
func readBody(what string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxResponseBytes+1))
	if err != nil {
		return nil, unavailable(what, err)
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("github: %s: %w", what, errTooLarge)
	}
	return b, nil
}

func unavailable(what string, err error) error {
	return fmt.Errorf("%w: github: %s: %s", authn.ErrProviderUnavailable, what, truncate(err.Error()))
}

// truncate bounds a message that may hold part of GitHub's answer.
func truncate(s string) string {
	const max = 300
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// redact replaces each non-empty secret in s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}
