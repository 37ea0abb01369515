package authproxy

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/auditlog"
	"herd.dev/herd/internal/impersonation"
)

// Prefix is where the proxy is mounted.
const Prefix = "/k8s/clusters/"

// Errors that Config functions return to choose the answer.
var (
	ErrUnauthenticated = errors.New("authproxy: unauthenticated")
	ErrNotFound        = errors.New("authproxy: cluster not found")
	ErrUnavailable     = errors.New("authproxy: cluster unavailable")
)

// Target is where and how requests for one cluster go.
type Target struct {
	// URL is the downstream kube-apiserver (https://host:port).
	URL *url.URL
	// Transport reaches it (through the tunnel, with its CA).
	Transport http.RoundTripper
	// UpgradeTransport, if set, carries upgrade requests (exec, attach,
	// port-forward), which need HTTP/1.1 while Transport may speak HTTP/2.
	UpgradeTransport http.RoundTripper
	// Credential is the bearer token that forwards this caller's requests
	// (an account that may impersonate only the caller). Empty: the
	// transport carries its own.
	Credential string
	// Impersonate decides a request with Impersonate-* headers (`kubectl
	// --as`): whom caller may act as in it, exactly as the cluster's
	// apiserver would decide, and a credential that may act as that
	// identity only. A refusal is an *impersonation.Refusal, answered as
	// the apiserver would. Nil: such requests are refused.
	Impersonate func(ctx context.Context, r *http.Request, path string, caller Caller) (Downstream, string, error)
	// ImpersonationTransport, if set, carries requests forwarded with a
	// credential from Impersonate (Transport may carry a credential of its
	// own that would take precedence). Nil: Transport.
	ImpersonationTransport http.RoundTripper
}

// Config wires the proxy to Herd. All functions are required.
type Config struct {
	// Authenticate returns the caller of a request for clusterID, or an
	// error wrapping ErrUnauthenticated.
	Authenticate func(r *http.Request, clusterID string) (Caller, error)
	// Resolve returns the target of a cluster that caller may reach, or an
	// error wrapping ErrNotFound (also for clusters caller may not reach)
	// or ErrUnavailable.
	Resolve func(ctx context.Context, clusterID string, caller Caller) (*Target, error)
	// Logger gets errors; Audit gets one line per request. Nil: discard.
	Logger, Audit *slog.Logger
	// Observer is told of every request, for metrics. Nil: none.
	Observer Observer
	// Sessions, if set, records interactive exec and attach sessions.
	Sessions SessionRecorder
	// AuditLevel is how much of a request its audit line holds: from
	// auditlog.RequestBody the request body, from auditlog.ResponseBody
	// the response body too (not of watches and upgraded sessions). Zero:
	// metadata only.
	AuditLevel auditlog.Level
}

// Proxy serves Prefix.
type Proxy struct {
	cfg      Config
	errorLog *log.Logger // ReverseProxy's, to cfg.Logger at debug level
	buffers  bufferPool  // ReverseProxy's copy buffers
}

var _ http.Handler = (*Proxy)(nil)

// New returns a proxy.
func New(cfg Config) *Proxy {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Proxy{cfg: cfg, errorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
}

// isDNSLabel reports whether id is a DNS label: 1 to 63 of a-z, 0-9 and
// '-', not starting or ending with '-' (checked on every request, so
// without a regular expression).
func isDNSLabel(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// split cuts the escaped request path into the cluster id and the
// downstream path, refusing ids that are not DNS labels (.., %2F, ...).
func split(r *http.Request) (id, path string, ok bool) {
	rest, found := strings.CutPrefix(r.URL.EscapedPath(), Prefix)
	if !found {
		return "", "", false
	}
	id, path, _ = strings.Cut(rest, "/")
	return id, "/" + path, isDNSLabel(id)
}

// ServeHTTP authenticates, resolves the cluster and forwards the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p.cfg.Observer.Started()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	clusterID, path, ok := split(r)
	var caller Caller
	var asUser string
	// Metrics name a cluster only once it resolved: names that callers
	// make up must not make label values.
	var resolved string
	verb := kubeVerb(r, path)
	upgrade := r.Header.Get("Upgrade") != ""
	var reqBody *auditlog.Body
	if p.cfg.AuditLevel >= auditlog.RequestBody && !upgrade && r.Body != nil && r.Body != http.NoBody {
		reqBody = &auditlog.Body{}
		r.Body = &teeBody{ReadCloser: r.Body, audit: reqBody}
	}
	if p.cfg.AuditLevel >= auditlog.ResponseBody && !upgrade && verb != "watch" {
		rec.body = &auditlog.Body{}
	}
	defer func() {
		p.audit(r, rec, reqBody, path, verb, start, clusterID, caller.UserID, asUser, caller.TokenID)
		req := Request{Cluster: resolved, Verb: verb, Code: rec.code, Duration: time.Since(start), Watch: verb == "watch"}
		if rec.hijacked {
			req.Session = SessionKind(path)
		}
		p.cfg.Observer.Finished(req)
	}()
	if !ok {
		p.fail(rec, r, http.StatusNotFound, metav1.StatusReasonNotFound, "cluster not found", nil)
		return
	}
	caller, err := p.cfg.Authenticate(r, clusterID)
	if err != nil {
		code, reason, msg := http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized"
		if !errors.Is(err, ErrUnauthenticated) {
			code, reason, msg = http.StatusInternalServerError, metav1.StatusReasonInternalError, "internal error"
		}
		p.fail(rec, r, code, reason, msg, err)
		return
	}
	target, err := p.cfg.Resolve(r.Context(), clusterID, caller)
	switch {
	case errors.Is(err, ErrNotFound):
		p.fail(rec, r, http.StatusNotFound, metav1.StatusReasonNotFound, "cluster not found", err)
		return
	case err != nil:
		p.fail(rec, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "cluster unavailable", err)
		return
	}
	resolved = clusterID
	as := caller.Downstream()
	if impersonation.Requested(r.Header) {
		var forwarded *Target
		if as, forwarded, ok = p.impersonate(rec, r, target, path, caller); !ok {
			return
		}
		asUser, target = as.User, forwarded
	}
	if r.Header.Get("Upgrade") != "" {
		rec.onHijack = func() func() { return p.observeSession(r, clusterID, path) }
	}
	var recording Recording
	if session, ok := recordable(r, clusterID, path); ok && p.cfg.Sessions != nil {
		session.Caller, session.AsUser = caller, asUser
		if recording, err = p.cfg.Sessions.Start(r.Context(), session); err != nil {
			p.fail(rec, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
				"exec sessions on this cluster must be recorded and the recorder is unavailable: try again later", err)
			return
		}
		if recording != nil {
			rec.recording = recording
			defer recording.End()
		}
	}
	p.reverseProxy(target, path, as, r.Header.Get("Upgrade") != "", recording).ServeHTTP(rec, r)
	if rec.sessionEnded != nil {
		rec.sessionEnded()
	}
}

// impersonate decides a `kubectl --as` request; when it refuses, it has
// answered (with the apiserver's own answer where the cluster refused).
func (p *Proxy) impersonate(w http.ResponseWriter, r *http.Request, target *Target, path string, caller Caller) (Downstream, *Target, bool) {
	if target.Impersonate == nil {
		p.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden, "impersonation is not supported for this cluster", nil)
		return Downstream{}, nil, false
	}
	as, credential, err := target.Impersonate(r.Context(), r, path, caller)
	var refusal *impersonation.Refusal
	switch {
	case errors.As(err, &refusal):
		p.cfg.Logger.Info("impersonation refused", "user", caller.UserID, "path", r.URL.Path, "code", refusal.Code, "reason", refusal.Reason)
		if r.Header.Get("Upgrade") != "" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(refusal.Code)
		_, _ = w.Write(refusal.Body)
		return Downstream{}, nil, false
	case err != nil:
		p.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "cluster unavailable", err)
		return Downstream{}, nil, false
	}
	forwarded := *target
	forwarded.Credential = credential
	if target.ImpersonationTransport != nil {
		forwarded.Transport, forwarded.UpgradeTransport = target.ImpersonationTransport, target.ImpersonationTransport
	}
	return as, &forwarded, true
}
