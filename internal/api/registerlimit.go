package api

import (
	"fmt"
	"math"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Registrations (of cluster agents and machines) are limited per source
// address: a source whose registrations failed registerFailureLimit
// times within registerFailureWindow waits for the window's end (429). A
// registration token is too long to guess; this keeps a source that tries
// from costing token lookups and log lines without end.
const (
	registerFailureLimit  = 20
	registerFailureWindow = time.Minute
)

// attemptRegistration counts a registration from r's source; it answers
// 429 and returns false when the source is blocked, else it returns
// done, which the caller calls with whether the registration succeeded.
func (a *API) attemptRegistration(w http.ResponseWriter, r *http.Request) (done func(ok bool), allowed bool) {
	key := "register:" + sourceKey(r)
	if wait := a.byRegister.Attempt(key); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		a.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
			fmt.Sprintf("too many failed registrations from this address: try again in %d seconds", secs),
			fmt.Errorf("registration from %s is rate limited", sourceAddr(r)))
		return nil, false
	}
	return func(ok bool) {
		if ok {
			a.byRegister.Forgive(key)
		}
	}, true
}
