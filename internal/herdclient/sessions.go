package herdclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"herd.dev/herd/internal/herdapi"
)

// MaxRecordingBytes bounds a recording Recording reads.
const MaxRecordingBytes = 256 << 20

// ListSessions lists recorded exec sessions (filters may be empty).
func (c *Client) ListSessions(ctx context.Context, cluster, user string) (*herdapi.ExecSessionList, error) {
	q := url.Values{}
	if cluster != "" {
		q.Set("cluster", cluster)
	}
	if user != "" {
		q.Set("user", user)
	}
	path := "/v1/sessions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out herdapi.ExecSessionList
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSession reads one session's record.
func (c *Client) GetSession(ctx context.Context, name string) (*herdapi.ExecSession, error) {
	seg, err := segment("session", name)
	if err != nil {
		return nil, err
	}
	var out herdapi.ExecSession
	if err := c.do(ctx, http.MethodGet, "/v1/sessions/"+seg, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Recording reads a session's asciicast v2 recording, whole.
func (c *Client) Recording(ctx context.Context, name string) ([]byte, error) {
	seg, err := segment("session", name)
	if err != nil {
		return nil, err
	}
	hc, err := c.httpClient(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+"/v1/sessions/"+seg+"/recording", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxRecordingBytes+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the recording: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp, data)
	}
	if len(data) > MaxRecordingBytes {
		return nil, fmt.Errorf("the recording is larger than %d bytes", MaxRecordingBytes)
	}
	return data, nil
}
