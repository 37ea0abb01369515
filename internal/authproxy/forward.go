package authproxy

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/auditlog"
)

// reverseProxy forwards to target. The outgoing request is built in
// Rewrite, after the hop-by-hop headers are gone, so a client's Connection
// header cannot remove what Herd sets.
func (p *Proxy) reverseProxy(target *Target, path string, as Downstream, upgrade bool, recording Recording) *httputil.ReverseProxy {
	transport := target.Transport
	if upgrade && target.UpgradeTransport != nil {
		transport = target.UpgradeTransport
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme, out.URL.Host, out.Host = target.URL.Scheme, target.URL.Host, target.URL.Host
			escaped := strings.TrimSuffix(target.URL.EscapedPath(), "/") + path
			out.URL.Path, _ = url.PathUnescape(escaped)
			out.URL.RawPath = escaped
			SetHeaders(out.Header, target.Credential, as)
		},
		Transport:  transport,
		ErrorLog:   p.errorLog,
		BufferPool: &p.buffers,
		// Zero: a response of known length (a GET of one object) leaves
		// in one write when the handler returns. Streams (watches, logs
		// -f: no Content-Length; text/event-stream) are still flushed
		// after every write by ReverseProxy itself.
		FlushInterval: 0,
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Header.Get("Upgrade") != "" && resp.StatusCode != http.StatusSwitchingProtocols {
				resp.Header.Set("Connection", "close") // a refused upgrade ends the client connection
				resp.Close = true
			}
			if recording != nil && resp.StatusCode == http.StatusSwitchingProtocols {
				recording.Upgraded(resp.Header)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.fail(w, r, http.StatusBadGateway, metav1.StatusReasonServiceUnavailable, "the cluster could not be reached", err)
		},
	}
}

// fail answers with a metav1.Status; err goes to the log only.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, code int, reason metav1.StatusReason, msg string, err error) {
	if err != nil {
		p.cfg.Logger.Info("proxy request refused", "path", r.URL.Path, "code", code, "err", err)
	}
	if r.Header.Get("Upgrade") != "" {
		w.Header().Set("Connection", "close")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}

// audit writes the request's audit line: the caller and, separately, the
// user acted as with `kubectl --as`, the token (its name, never its
// secret), the source address and the outcome.
func (p *Proxy) audit(r *http.Request, rec *recorder, reqBody *auditlog.Body, path, verb string, start time.Time, cluster, caller, as, tokenID string) {
	attrs := make([]slog.Attr, 0, 13)
	attrs = append(attrs, slog.String("user", caller), slog.String("impersonatedUser", as), slog.String("token", tokenID),
		slog.String("cluster", cluster), slog.String("verb", verb), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.code), slog.String("source", remoteIP(r)), slog.String("duration", time.Since(start).String()))
	secrets := strings.Contains(path+"/", "/secrets/")
	if reqBody != nil {
		if v := reqBody.Value(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), secrets); v != nil {
			attrs = append(attrs, slog.Any("requestBody", v))
		}
	}
	if rec.body != nil {
		if v := rec.body.Value(rec.Header().Get("Content-Type"), rec.Header().Get("Content-Encoding"), secrets); v != nil {
			attrs = append(attrs, slog.Any("responseBody", v))
		}
	}
	p.cfg.Audit.LogAttrs(r.Context(), slog.LevelInfo, "proxied", attrs...)
}

// bufferPool keeps ReverseProxy's 32 KiB copy buffers between requests:
// one per request was most of what a proxied GET allocated, and so most
// of the collector's work.
type bufferPool struct{ pool sync.Pool }

const copyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, copyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != copyBufferSize {
		return
	}
	buf = buf[:copyBufferSize]
	b.pool.Put(&buf)
}

// remoteIP is the client's address without its port.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// recorder keeps the status code for the audit line; Unwrap lets
// http.ResponseController reach Flush and Hijack underneath.
type recorder struct {
	http.ResponseWriter
	code     int
	body     *auditlog.Body // nil: not captured
	hijacked bool
	// onHijack, if set, is called when the connection is hijacked (an
	// upgraded session begins) and returns what sessionEnded then calls.
	onHijack     func() func()
	sessionEnded func()
	// recording, if set, taps the upgraded connection.
	recording Recording
}

func (r *recorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.body != nil {
		_, _ = r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// teeBody hands a request body to the proxy and a copy to the audit line.
type teeBody struct {
	io.ReadCloser
	audit *auditlog.Body
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	_, _ = b.audit.Write(p[:n])
	return n, err
}

// Hijack is used for upgraded (exec, attach, port-forward) connections.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.code, r.hijacked = http.StatusSwitchingProtocols, true
		if r.onHijack != nil {
			r.sessionEnded = r.onHijack()
		}
		if r.recording != nil {
			conn = &tapConn{Conn: conn, rec: r.recording}
		}
	}
	return conn, rw, err
}

// Flush streams watches.
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }
