package authproxy

import (
	"net/http"
	"strings"
	"time"
)

// Observer is told of proxied requests, for metrics. Its methods must be
// cheap and must not block: they run on every request.
type Observer interface {
	// Started: a request came in. Every Started is followed by one
	// Finished.
	Started()
	// Finished: a request was answered, or, for an upgraded session (exec,
	// attach, port-forward), the session ended.
	Finished(req Request)
	// SessionStarted: a request was upgraded to a session of kind
	// (SessionKind); SessionEnded follows when it ends.
	SessionStarted(cluster, kind string)
	SessionEnded(cluster, kind string)
}

// Request is what an Observer learns of one proxied request.
type Request struct {
	// Cluster is "" unless the cluster was resolved for the caller (an
	// unknown name or a refused caller names none); Verb is the Kubernetes
	// verb (kubeVerb).
	Cluster, Verb string
	Code          int
	Duration      time.Duration
	// Session is the kind of an upgraded session (SessionKind), "" for a
	// plain request; Watch is set for a watch.
	Session string
	Watch   bool
}

// SessionKind names the kind of an upgrade request by its path: "exec",
// "attach", "portforward", or "other".
func SessionKind(path string) string {
	switch path[strings.LastIndexByte(path, '/')+1:] {
	case "exec":
		return "exec"
	case "attach":
		return "attach"
	case "portforward":
		return "portforward"
	}
	return "other"
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Started()                      {}
func (nopObserver) Finished(Request)              {}
func (nopObserver) SessionStarted(string, string) {}
func (nopObserver) SessionEnded(string, string)   {}

// observeSession reports an upgraded session's start to the Observer and
// returns its end.
func (p *Proxy) observeSession(r *http.Request, cluster, path string) func() {
	kind := SessionKind(path)
	p.cfg.Observer.SessionStarted(cluster, kind)
	return func() { p.cfg.Observer.SessionEnded(cluster, kind) }
}
