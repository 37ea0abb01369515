package herdclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIError is an error answer of the server, from its metav1.Status body.
// Use errors.As to get it.
type APIError struct {
	// Code is the HTTP status.
	Code int
	// Message is the server's (generic) message.
	Message string
	// Reason is the metav1.StatusReason, such as NotFound; may be empty.
	Reason string
	// RetryAfter is how long to wait before retrying (429), zero if unknown.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Code))
	}
	return fmt.Sprintf("server answered %d: %s", e.Code, msg)
}

// maxMessage bounds a message taken from a body that is not a Status.
const maxMessage = 200

// decodeError reads a Status from an error answer; a body that is not one
// (a proxy's HTML page) still gives the code and the start of the text.
func decodeError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Code: resp.StatusCode}
	var status metav1.Status
	if err := json.Unmarshal(body, &status); err == nil && (status.Kind == "Status" || status.Message != "" || status.Reason != "") {
		e.Message = status.Message
		e.Reason = string(status.Reason)
		if status.Details != nil && status.Details.RetryAfterSeconds > 0 {
			e.RetryAfter = time.Duration(status.Details.RetryAfterSeconds) * time.Second
		}
	} else {
		text := strings.TrimSpace(string(body))
		if len(text) > maxMessage {
			text = text[:maxMessage] + "..."
		}
		e.Message = text
	}
	if after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = after
	}
	return e
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now).Round(time.Second), 0), true
	}
	return 0, false
}
