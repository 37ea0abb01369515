package clusters

import (
	"context"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"

	"herd.dev/herd/internal/authproxy"
	"herd.dev/herd/internal/impersonation"
)

// asUser decides `kubectl --as` for one cluster: the cluster's own
// impersonation rules, checked for the caller by the apiserver's filter over
// SubjectAccessReviews, and an account that may act as the identity allowed
// and nothing else.
type asUser struct {
	kube     kubernetes.Interface // may create SubjectAccessReviews
	accounts *impersonation.Accounts

	once    sync.Once
	checker *impersonation.Checker
}

// impersonate is an authproxy.Target's Impersonate.
func (a *asUser) impersonate(ctx context.Context, r *http.Request, path string, caller authproxy.Caller) (authproxy.Downstream, string, error) {
	a.once.Do(func() {
		// The filter of clusters with constrained impersonation accepts
		// more than the legacy one, so it is used only where the cluster
		// says the feature is on.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		a.checker = impersonation.NewChecker(a.kube, impersonation.ConstrainedEnabled(pctx, a.kube))
	})
	self := caller.Downstream()
	u, err := a.checker.Check(ctx, r, path, &user.DefaultInfo{Name: self.User, Groups: self.Groups, Extra: self.Extra})
	if err != nil {
		return authproxy.Downstream{}, "", err
	}
	credential, err := a.accounts.TargetToken(ctx, u)
	if err != nil {
		return authproxy.Downstream{}, "", err
	}
	return authproxy.Downstream{User: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}, credential, nil
}

// Impersonator is an authproxy.Target's Impersonate for a cluster that
// kube reaches with a credential that may create SubjectAccessReviews and
// service accounts in herd-system.
func Impersonator(kube kubernetes.Interface, now func() time.Time) func(context.Context, *http.Request, string, authproxy.Caller) (authproxy.Downstream, string, error) {
	return (&asUser{kube: kube, accounts: &impersonation.Accounts{Client: kube, Now: now}}).impersonate
}
