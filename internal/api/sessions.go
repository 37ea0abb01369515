package api

import (
	"io"
	"net/http"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/recording"
)

// sessionsAPI serves the recordings of exec sessions: a user sees their
// own, a holder of the global right to list (get) execsessions everyone's.
type sessionsAPI struct{ *API }

// maxSessionsListed bounds one answer of GET /v1/sessions.
const maxSessionsListed = 1000

func (a sessionsAPI) handleList(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	q := r.URL.Query()
	labels := client.MatchingLabels{}
	if !a.authz.Allowed(r.Context(), id, "list", "execsessions") {
		if u := q.Get("user"); u != "" && u != id.UserName && u != id.Username {
			a.forbidden(w, r, id, "list other users' sessions")
			return
		}
		labels[recording.UserLabel] = id.UserName
	} else if u := q.Get("user"); u != "" {
		labels[recording.UserLabel] = a.userNameOf(r, u)
	}
	if c := q.Get("cluster"); c != "" {
		labels[recording.ClusterLabel] = c
	}
	var list v1.ExecSessionList
	if err := a.cache.List(r.Context(), &list, labels); err != nil {
		a.internal(w, r, err)
		return
	}
	slices.SortFunc(list.Items, func(x, y v1.ExecSession) int { return y.Spec.StartedAt.Time.Compare(x.Spec.StartedAt.Time) })
	out := herdapi.ExecSessionList{Items: []herdapi.ExecSession{}}
	for i := range list.Items[:min(len(list.Items), maxSessionsListed)] {
		out.Items = append(out.Items, a.sessionInfo(r, &list.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// userNameOf is the User object name of a login name (or of itself).
func (a sessionsAPI) userNameOf(r *http.Request, username string) string {
	var users v1.UserList
	if a.cache.List(r.Context(), &users) == nil {
		for _, u := range users.Items {
			if u.Spec.Username == username {
				return u.Name
			}
		}
	}
	return username
}

// session is the named session if the caller may see it; otherwise it
// has answered 404.
func (a sessionsAPI) session(w http.ResponseWriter, r *http.Request, id *authn.Identity) (*v1.ExecSession, bool) {
	var es v1.ExecSession
	err := a.cache.Get(r.Context(), client.ObjectKey{Name: r.PathValue("name")}, &es)
	if apierrors.IsNotFound(err) || (err == nil && es.Spec.User != id.UserName && !a.authz.Allowed(r.Context(), id, "get", "execsessions")) {
		a.notFound(w, r, "session")
		return nil, false
	}
	if err != nil {
		a.internal(w, r, err)
		return nil, false
	}
	return &es, true
}

func (a sessionsAPI) handleGet(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if es, ok := a.session(w, r, id); ok {
		writeJSON(w, http.StatusOK, a.sessionInfo(r, es))
	}
}

// handleRecording streams the session's asciicast, as stored so far.
func (a sessionsAPI) handleRecording(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	es, ok := a.session(w, r, id)
	if !ok {
		return
	}
	if a.cfg.Recordings == nil {
		a.notFound(w, r, "recording")
		return
	}
	cast, err := a.cfg.Recordings.Open(r.Context(), es.Name)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit.Info("recording read", "user", id.UserName, "session", es.Name, "sessionUser", es.Spec.User, "cluster", es.Spec.Cluster)
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Content-Disposition", `attachment; filename="`+es.Name+`.cast"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.Copy(w, cast)
}

func (a sessionsAPI) sessionInfo(r *http.Request, es *v1.ExecSession) herdapi.ExecSession {
	out := herdapi.ExecSession{Name: es.Name, User: es.Spec.User, ImpersonatedUser: es.Spec.ImpersonatedUser,
		Cluster: es.Spec.Cluster, Namespace: es.Spec.Namespace, Pod: es.Spec.Pod, Container: es.Spec.Container,
		Kind: es.Spec.Kind, Command: es.Spec.Command, TTY: es.Spec.TTY, Stdin: es.Spec.Stdin, Input: es.Spec.Input,
		Source: es.Spec.Source, StartedAt: es.Spec.StartedAt.UTC(), Phase: es.Status.Phase, Bytes: es.Status.Bytes,
		Truncated: es.Status.Truncated, LostBytes: es.Status.LostBytes}
	if out.Phase == "" {
		out.Phase = v1.SessionRecording
	}
	if es.Status.EndedAt != nil {
		t := es.Status.EndedAt.UTC()
		out.EndedAt = &t
	}
	var u v1.User
	if a.cache.Get(r.Context(), client.ObjectKey{Name: es.Spec.User}, &u) == nil {
		out.Username = u.Spec.Username
	}
	return out
}
