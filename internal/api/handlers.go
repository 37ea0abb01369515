package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// decode reads one JSON object of at most herdapi.MaxBodyBytes into v,
// refusing unknown fields and trailing data. On failure it has answered.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return a.decodeLimit(w, r, v, herdapi.MaxBodyBytes)
}

// decodeLimit is decode for a body of at most limit bytes.
func (a *API) decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	code, reason, message, err := readJSONLimit(w, r, v, limit)
	if code != 0 {
		a.fail(w, r, code, reason, message, err)
		return false
	}
	return true
}

// readJSON is decode's work: it returns 0, or the status, reason and
// message (safe to show) of a refusal and the error for the log.
func readJSON(w http.ResponseWriter, r *http.Request, v any) (int, metav1.StatusReason, string, error) {
	return readJSONLimit(w, r, v, herdapi.MaxBodyBytes)
}

func readJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) (int, metav1.StatusReason, string, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, "send the body as application/json", nil
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than %d bytes", limit), nil
		}
		return http.StatusBadRequest, metav1.StatusReasonBadRequest, "the request body could not be read", err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return http.StatusBadRequest, metav1.StatusReasonBadRequest, "the request body is not valid JSON for this endpoint: " + jsonProblem(err), nil
	}
	// Nothing but white space may follow: More is not enough, it says
	// nothing of a stray '}' or ']' (found by FuzzDecode).
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return http.StatusBadRequest, metav1.StatusReasonBadRequest, "the request body has data after the JSON object", nil
	}
	return 0, "", "", nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	return "malformed JSON"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers with a metav1.Status carrying message, which must be safe
// to show; err, if any, goes to the log only.
func (a *API) fail(w http.ResponseWriter, r *http.Request, code int, reason metav1.StatusReason, message string, err error) {
	if code >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", logPath(r), "code", code, "source", sourceAddr(r), "err", err)
		message = "internal error; see the server log"
	} else if err != nil {
		a.log.Info("request refused", "method", r.Method, "path", logPath(r), "code", code, "source", sourceAddr(r), "reason", err)
	}
	writeJSON(w, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure,
		Message:  message,
		Reason:   reason,
		Code:     int32(code),
	})
}

// logPath is the request path safe to log: the import path carries a
// token, so it is cut.
func logPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/v1/import/") {
		return "/v1/import/..."
	}
	return r.URL.Path
}

// sourceAddr is the client's IP address. X-Forwarded-For is not trusted.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sourceKey is what rate limits count a client by: its IPv4 address, or
// the /64 of its IPv6 address (one host usually holds a whole /64).
func sourceKey(r *http.Request) string {
	return addrKey(sourceAddr(r))
}

func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// authHandler is a handler for authenticated requests.
type authHandler func(w http.ResponseWriter, r *http.Request, id *authn.Identity)

// authed authenticates the bearer token before calling h.
func (a *API) authed(h authHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herd"`)
			a.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized: log in with `herdctl login`", nil)
			return
		}
		id, err := a.authn.Authenticate(r.Context(), strings.TrimSpace(token))
		if err == nil && id.ClusterName != "" {
			// A cluster-scoped token (a kubeconfig's) works only for that
			// cluster's Kubernetes API: it must not mint other tokens.
			err = fmt.Errorf("%w: token %s is scoped to cluster %s and may not use the Herd API", authn.ErrUnauthenticated, id.TokenName, id.ClusterName)
			w.Header().Set("WWW-Authenticate", `Bearer realm="herd"`)
			a.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized,
				"Unauthorized: this token is scoped to one cluster and works only with kubectl for it; log in with `herdctl login` to use the Herd API", err)
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herd"`)
			code := http.StatusUnauthorized
			if !errors.Is(err, authn.ErrUnauthenticated) {
				code = http.StatusInternalServerError
			}
			a.fail(w, r, code, metav1.StatusReasonUnauthorized, "Unauthorized: log in with `herdctl login`", err)
			return
		}
		setActor(r, id)
		h(w, r, id)
	}
}

// allowed is authed for a route that needs a global right: verb on Herd's
// resource, by the caller's global roles.
func (a *API) allowed(verb, resource string, h authHandler) http.HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
		if !a.authz.Allowed(r.Context(), id, verb, resource) {
			a.forbidden(w, r, id, verb+" "+resource)
			return
		}
		h(w, r, id)
	})
}

func (a *API) forbidden(w http.ResponseWriter, r *http.Request, id *authn.Identity, what string) {
	a.fail(w, r, http.StatusForbidden, metav1.StatusReasonForbidden, "forbidden: you may not "+what,
		fmt.Errorf("user %s may not %s", id.UserName, what))
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request, what string) {
	a.fail(w, r, http.StatusNotFound, metav1.StatusReasonNotFound, what+" not found", nil)
}

func (a *API) invalid(w http.ResponseWriter, r *http.Request, message string) {
	a.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, message, nil)
}

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, http.StatusInternalServerError, metav1.StatusReasonInternalError, "", err)
}

// deleteObject deletes obj (its dependents go with it, by owner
// references), waits for this replica's cache to see it gone, and answers
// 204.
func (a *API) deleteObject(w http.ResponseWriter, r *http.Request, id *authn.Identity, obj client.Object, kind string) {
	err := a.client.Delete(r.Context(), obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if client.IgnoreNotFound(err) != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), obj, true)
	a.audit.Info(kind+" deleted", kind, obj.GetName(), "actor", id.UserName)
	w.WriteHeader(http.StatusNoContent)
}
