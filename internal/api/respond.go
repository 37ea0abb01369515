package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/members"
	"herd.dev/herd/internal/projects"
	"herd.dev/herd/internal/users"
)

// respond answers a failed operation: the one place where the sentinel
// errors of the operations become a status, a reason and a message safe
// to show. The error itself goes to the log.
func (a *API) respond(w http.ResponseWriter, r *http.Request, err error) {
	code, reason, message := a.status(err)
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	a.fail(w, r, code, reason, message, err)
}

func (a *API) status(err error) (int, metav1.StatusReason, string) {
	switch {
	case errors.Is(err, authn.ErrBadCredentials):
		return http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "invalid username or password"
	case errors.Is(err, authn.ErrProviderUnavailable):
		return http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the identity provider does not answer; try again later (local users can still log in)"
	case errors.Is(err, authn.ErrInvalidRequest):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, strings.TrimPrefix(err.Error(), "authn: ")
	case errors.Is(err, identity.ErrNoProvider):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			shown(err, identity.ErrNoProvider) + "; see `herdctl auth show`"
	case errors.Is(err, identity.ErrInvalidProvider):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, identity.ErrInvalidProvider)
	case errors.Is(err, identity.ErrNoToken):
		return http.StatusNotFound, metav1.StatusReasonNotFound, "token " + shown(err, identity.ErrNoToken) + " not found"
	case errors.Is(err, identity.ErrTokenQuota):
		return http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf("token quota reached: a user may hold %d live tokens; "+
			"revoke unused ones with `herdctl tokens revoke NAME` (see `herdctl tokens list`)", a.cfg.MaxTokensPerUser)
	case errors.Is(err, clusters.ErrUnauthorized):
		return http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized"
	case errors.Is(err, clusters.ErrInvalid):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, clusters.ErrInvalid)
	case errors.Is(err, clusters.ErrDeleting):
		return http.StatusConflict, metav1.StatusReasonConflict, "the cluster is being deleted"
	case errors.Is(err, clusters.ErrOtherCluster):
		return http.StatusConflict, metav1.StatusReasonConflict,
			"this cluster is registered with another kube-apiserver CA: delete it in Herd and import it again to move it"
	case errors.Is(err, clusters.ErrTooManyRegistrations):
		return http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
			"this import command registered too many agents; reissue it with `herdctl clusters import-command`"
	case errors.Is(err, machines.ErrUnauthorized):
		return http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized"
	case errors.Is(err, machines.ErrInvalid):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, machines.ErrInvalid)
	case errors.Is(err, machines.ErrExists):
		return http.StatusConflict, metav1.StatusReasonAlreadyExists, shown(err, machines.ErrExists)
	case errors.Is(err, machines.ErrTooMany):
		return http.StatusForbidden, metav1.StatusReasonForbidden, shown(err, machines.ErrTooMany)
	case errors.Is(err, users.ErrInvalid):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, users.ErrInvalid)
	case errors.Is(err, users.ErrNotFound):
		return http.StatusNotFound, metav1.StatusReasonNotFound, shown(err, users.ErrNotFound)
	case errors.Is(err, users.ErrExists):
		return http.StatusConflict, metav1.StatusReasonAlreadyExists, shown(err, users.ErrExists)
	case errors.Is(err, users.ErrSelf):
		return http.StatusConflict, metav1.StatusReasonConflict, shown(err, users.ErrSelf)
	case errors.Is(err, users.ErrWrongPassword):
		return http.StatusForbidden, metav1.StatusReasonForbidden, shown(err, users.ErrWrongPassword)
	case errors.Is(err, members.ErrInvalid):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, members.ErrInvalid)
	case errors.Is(err, members.ErrNoScope):
		return http.StatusNotFound, metav1.StatusReasonNotFound, shown(err, members.ErrNoScope)
	case errors.Is(err, members.ErrNoMember):
		return http.StatusNotFound, metav1.StatusReasonNotFound, shown(err, members.ErrNoMember)
	case errors.Is(err, authz.ErrForbidden):
		return http.StatusForbidden, metav1.StatusReasonForbidden, "forbidden: " + shown(err, authz.ErrForbidden)
	case errors.Is(err, members.ErrExists):
		return http.StatusConflict, metav1.StatusReasonAlreadyExists, shown(err, members.ErrExists)
	case errors.Is(err, projects.ErrInvalid):
		return http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, shown(err, projects.ErrInvalid)
	case errors.Is(err, projects.ErrNoNamespace):
		return http.StatusNotFound, metav1.StatusReasonNotFound, shown(err, projects.ErrNoNamespace)
	case errors.Is(err, projects.ErrNotInProject):
		return http.StatusNotFound, metav1.StatusReasonNotFound, shown(err, projects.ErrNotInProject)
	case errors.Is(err, projects.ErrOtherProject):
		return http.StatusConflict, metav1.StatusReasonConflict, shown(err, projects.ErrOtherProject)
	}
	return http.StatusInternalServerError, metav1.StatusReasonInternalError, ""
}

// shown is the message of err after the sentinel's own, which the
// operations keep safe to show.
func shown(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return msg
}
