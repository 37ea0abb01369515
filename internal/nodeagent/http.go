package nodeagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// permanent marks an error that a retry cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// errNoContent: the server answered 204.
var errNoContent = errors.New("no content")

// do sends body (nil: none) as JSON with bearer and decodes the answer
// into out (nil: ignored; else a 204 is errNoContent). 4xx answers are
// permanent errors.
func (c *client) do(ctx context.Context, method, path, bearer string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return permanent{err}
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.cfg.Server, "/")+path, r)
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	switch {
	case err != nil:
		return err
	case resp.StatusCode == http.StatusNoContent && out != nil:
		return errNoContent
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return permanent{fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, message(data))}
	case resp.StatusCode >= 300:
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, message(data))
	case out != nil:
		return json.Unmarshal(data, out)
	}
	return nil
}

// message is the message of a metav1.Status answer, or the answer.
func message(data []byte) string {
	var st struct{ Message string }
	if json.Unmarshal(data, &st) == nil && st.Message != "" {
		return st.Message
	}
	return strings.TrimSpace(string(data[:min(len(data), 512)]))
}

// retry calls f until it succeeds, fails permanently, or ctx ends, with
// backoff from 1 s to 1 min.
func retry(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	wait := time.Second
	for {
		err := f()
		var p permanent
		if err == nil || errors.As(err, &p) {
			return err
		}
		log.Warn("failed to "+what+"; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
