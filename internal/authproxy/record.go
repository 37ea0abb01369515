package authproxy

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// SessionRecorder records interactive exec and attach sessions.
type SessionRecorder interface {
	// Start is called before such a request is forwarded: an exec or an
	// attach with stdin or a TTY. It returns the session's recording, or
	// nil when it is not recorded, or an error when the session may not
	// run unrecorded: the request is refused as unavailable.
	Start(ctx context.Context, s RecordedSession) (Recording, error)
}

// Recording is one session being recorded. FromClient and FromServer get
// the bytes that pass once the connection is upgraded; they must not
// block.
type Recording interface {
	// Upgraded gives the upgrade response's headers (the protocol).
	Upgraded(h http.Header)
	FromClient(p []byte)
	FromServer(p []byte)
	// End: the session ended, or was never upgraded.
	End()
}

// RecordedSession says what is about to run, and who runs it.
type RecordedSession struct {
	Cluster, Namespace, Pod, Container string
	// Kind is exec or attach.
	Kind    string
	Command []string
	TTY     bool
	Stdin   bool
	Caller  Caller
	// AsUser is the user acted as with `kubectl --as`, if any.
	AsUser string
	Source string
}

// recordable is the session a request would start when it is one to
// record: an exec or attach of a pod with stdin or a TTY.
func recordable(r *http.Request, cluster, path string) (RecordedSession, bool) {
	if r.Header.Get("Upgrade") == "" {
		return RecordedSession{}, false
	}
	kind := SessionKind(path)
	if kind != "exec" && kind != "attach" {
		return RecordedSession{}, false
	}
	// /api/v1/namespaces/NS/pods/POD/exec
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) != 7 || parts[0] != "api" || parts[2] != "namespaces" || parts[4] != "pods" {
		return RecordedSession{}, false
	}
	q := r.URL.Query()
	s := RecordedSession{Cluster: cluster, Namespace: unescape(parts[3]), Pod: unescape(parts[5]), Kind: kind,
		Container: q.Get("container"), Command: q["command"], TTY: truthy(q.Get("tty")), Stdin: truthy(q.Get("stdin")),
		Source: remoteIP(r)}
	return s, s.TTY || s.Stdin
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// truthy is how the apiserver reads a boolean query parameter.
func truthy(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// tapConn hands the bytes of an upgraded connection to a recording: what
// is read came from the client, what is written goes to it.
type tapConn struct {
	net.Conn
	rec Recording
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rec.FromClient(p[:n])
	}
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.rec.FromServer(p[:n])
	}
	return n, err
}
