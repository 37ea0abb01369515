package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// get requests url and returns the status and body, or the error.
func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

type answer struct {
	status int
	body   string
}

// getAsync requests url in the background: the callback holds the first
// ticket's request until finish.
func getAsync(t *testing.T, url string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		status, body, err := get(t, url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
		}
		out <- answer{status, body}
	}()
	return out
}

func TestCallbackTakesOneTicket(t *testing.T) {
	tests := []struct {
		name       string
		result     error
		wantStatus int
		wantPage   string
	}{
		{"redeemed", nil, 200, "You are logged in to Herd; you can close this window."},
		{"refused", errors.New("401"), 401, "The login did not succeed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := listenCallback()
			if err != nil {
				t.Fatal(err)
			}
			defer cb.Close()
			if !strings.HasPrefix(cb.URL(), "http://127.0.0.1:") || !strings.HasSuffix(cb.URL(), "/callback") {
				t.Errorf("URL: got %s, want http://127.0.0.1:PORT/callback", cb.URL())
			}
			first := getAsync(t, cb.URL()+"?ticket=one")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := cb.Wait(ctx)
			if err != nil || got.ticket != "one" {
				t.Fatalf("Wait: got %q, %v; want ticket one", got.ticket, err)
			}
			if status, body, _ := get(t, cb.URL()+"?ticket=two"); status != http.StatusConflict || !strings.Contains(body, "ignored") {
				t.Errorf("second ticket: got %d %q, want 409", status, body)
			}
			got.finish(tt.result)
			if a := <-first; a.status != tt.wantStatus || !strings.Contains(a.body, tt.wantPage) {
				t.Errorf("first request: got %d %q, want %d %q", a.status, a.body, tt.wantStatus, tt.wantPage)
			}
			cb.Close()
			if _, _, err := get(t, cb.URL()+"?ticket=three"); err == nil {
				t.Error("the callback answers after Close")
			}
		})
	}
}

func TestCallbackCloseReleasesBrowser(t *testing.T) {
	cb, err := listenCallback()
	if err != nil {
		t.Fatal(err)
	}
	held := getAsync(t, cb.URL()+"?ticket=one")
	if _, err := cb.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	cb.Close() // herdctl gave up without finishing
	if a := <-held; a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "run herdctl login again") {
		t.Errorf("held request: got %d %q, want 503 saying to log in again", a.status, a.body)
	}
}

func TestCallbackWaitTimesOut(t *testing.T) {
	cb, err := listenCallback()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cb.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
}
