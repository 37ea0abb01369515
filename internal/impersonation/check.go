package impersonation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes"
)

// ErrDenied is wrapped by Check's refusals; they are *Refusal errors that
// carry the apiserver's own answer.
var ErrDenied = errors.New("impersonation: refused")

// Refusal is the answer the cluster's apiserver would give to a request
// whose impersonation it refuses: its status code and its Status body.
type Refusal struct {
	Code int
	Body []byte
	// Reason is the body's message, for the log.
	Reason string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%v: %d %s", ErrDenied, r.Code, r.Reason) }
func (r *Refusal) Unwrap() error { return ErrDenied }

// Requested reports whether h asks for impersonation at all (any
// Impersonate-* header, in any letter case).
func Requested(h http.Header) bool {
	for k := range h {
		if len(k) > len("impersonate-") && strings.EqualFold(k[:len("impersonate-")], "impersonate-") {
			return true
		}
	}
	return false
}

// Checker decides `kubectl --as` requests for one cluster the way its
// kube-apiserver does: it runs the apiserver's own impersonation filter
// (k8s.io/apiserver), constrained impersonation (KEP-5284) where the
// cluster has it and the legacy filter otherwise, and answers the filter's
// authorization questions with SubjectAccessReviews of the caller in that
// cluster. So users, groups, service accounts (as serviceaccounts in their
// namespace), uids and every extra are checked, system:authenticated and a
// service account's groups are added, and successful checks are cached for
// 10 s, exactly as the apiserver would for the same caller.
type Checker struct {
	filter   http.Handler
	requests *request.RequestInfoFactory
}

// NewChecker returns a checker whose reviews go to kube (a credential that
// may create SubjectAccessReviews). constrained selects the filter of
// clusters where the ConstrainedImpersonation feature is on.
func NewChecker(kube kubernetes.Interface, constrained bool) *Checker {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	codecs := serializer.NewCodecFactory(scheme)
	authz := &reviewer{kube: kube}
	found := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := request.UserFrom(r.Context())
		w.(*capture).user = u
	})
	c := &Checker{requests: &request.RequestInfoFactory{
		APIPrefixes:          sets.NewString("api", "apis"),
		GrouplessAPIPrefixes: sets.NewString("api"),
	}}
	if constrained {
		c.filter = impersonation.WithConstrainedImpersonation(found, authz, codecs)
	} else {
		c.filter = impersonation.WithImpersonation(found, authz, codecs)
	}
	return c
}

// Check returns whom caller acts as when r (a request for the downstream
// path) carries Impersonate-* headers, or a *Refusal. r is not changed.
func (c *Checker) Check(ctx context.Context, r *http.Request, path string, caller user.Info) (user.Info, error) {
	probe, err := http.NewRequestWithContext(ctx, r.Method, path, nil)
	if err != nil {
		return nil, &Refusal{Code: http.StatusBadRequest, Reason: "bad path"}
	}
	probe.URL.RawQuery = r.URL.RawQuery
	for k, vs := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "impersonate-") {
			probe.Header[http.CanonicalHeaderKey(k)] = append(probe.Header[http.CanonicalHeaderKey(k)], vs...)
		}
	}
	info, err := c.requests.NewRequestInfo(probe)
	if err != nil {
		return nil, &Refusal{Code: http.StatusBadRequest, Reason: "the request path cannot be parsed"}
	}
	probe = probe.WithContext(request.WithRequestInfo(request.WithUser(ctx, caller), info))
	w := &capture{header: http.Header{}}
	c.filter.ServeHTTP(w, probe)
	if w.user != nil && w.code == 0 {
		return w.user, nil
	}
	if w.code == 0 {
		w.code = http.StatusInternalServerError
	}
	return nil, &Refusal{Code: w.code, Body: w.body.Bytes(), Reason: statusMessage(w.body.Bytes())}
}

// capture is the ResponseWriter the filter answers into.
type capture struct {
	header http.Header
	code   int
	body   bytes.Buffer
	user   user.Info
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *capture) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	if c.body.Len() < 64<<10 {
		c.body.Write(p)
	}
	return len(p), nil
}

// statusMessage is the message of a Status body, for the log.
func statusMessage(body []byte) string {
	const key = `"message":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return string(body[:min(len(body), 200)])
	}
	rest := body[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		rest = rest[:j]
	}
	return string(rest[:min(len(rest), 500)])
}

// reviewer answers authorization questions with SubjectAccessReviews.
type reviewer struct {
	kube kubernetes.Interface
}

var _ authorizer.UnconditionalAuthorizer = (*reviewer)(nil)

func (v *reviewer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	sar, err := v.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, reviewOf(a), metav1.CreateOptions{})
	if err != nil {
		return authorizer.DecisionNoOpinion, "", fmt.Errorf("subject access review failed: %w", err)
	}
	switch {
	case sar.Status.Allowed:
		return authorizer.DecisionAllow, sar.Status.Reason, nil
	case sar.Status.Denied:
		return authorizer.DecisionDeny, sar.Status.Reason, nil
	}
	return authorizer.DecisionNoOpinion, sar.Status.Reason, nil
}

// reviewOf is the SubjectAccessReview that asks a's question.
func reviewOf(a authorizer.Attributes) *authzv1.SubjectAccessReview {
	u := a.GetUser()
	spec := authzv1.SubjectAccessReviewSpec{User: u.GetName(), Groups: u.GetGroups(), UID: u.GetUID()}
	if extra := u.GetExtra(); len(extra) > 0 {
		spec.Extra = map[string]authzv1.ExtraValue{}
		for k, vs := range extra {
			spec.Extra[k] = vs
		}
	}
	if !a.IsResourceRequest() {
		spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: a.GetPath(), Verb: a.GetVerb()}
		return &authzv1.SubjectAccessReview{Spec: spec}
	}
	spec.ResourceAttributes = &authzv1.ResourceAttributes{
		Namespace: a.GetNamespace(), Verb: a.GetVerb(), Group: a.GetAPIGroup(), Version: a.GetAPIVersion(),
		Resource: a.GetResource(), Subresource: a.GetSubresource(), Name: a.GetName(),
	}
	if reqs, err := a.GetFieldSelector(); err == nil && len(reqs) > 0 {
		fs := &authzv1.FieldSelectorAttributes{}
		for _, r := range reqs {
			op := metav1.FieldSelectorOpIn
			if r.Operator == selection.NotEquals {
				op = metav1.FieldSelectorOpNotIn
			}
			fs.Requirements = append(fs.Requirements, metav1.FieldSelectorRequirement{Key: r.Field, Operator: op, Values: []string{r.Value}})
		}
		spec.ResourceAttributes.FieldSelector = fs
	}
	if reqs, err := a.GetLabelSelector(); err == nil && len(reqs) > 0 {
		ls := &authzv1.LabelSelectorAttributes{}
		for _, r := range reqs {
			ls.Requirements = append(ls.Requirements, metav1.LabelSelectorRequirement{Key: r.Key(), Operator: labelOperator(r.Operator()),
				Values: r.Values().List()})
		}
		spec.ResourceAttributes.LabelSelector = ls
	}
	return &authzv1.SubjectAccessReview{Spec: spec}
}

func labelOperator(op selection.Operator) metav1.LabelSelectorOperator {
	switch op {
	case selection.NotIn, selection.NotEquals:
		return metav1.LabelSelectorOpNotIn
	case selection.Exists:
		return metav1.LabelSelectorOpExists
	case selection.DoesNotExist:
		return metav1.LabelSelectorOpDoesNotExist
	}
	return metav1.LabelSelectorOpIn
}

// ConstrainedEnabled reports whether the cluster's apiserver runs with the
// ConstrainedImpersonation feature, from its kubernetes_feature_enabled
// metric. When that cannot be read, it says false: the legacy filter
// accepts less.
func ConstrainedEnabled(ctx context.Context, kube kubernetes.Interface) bool {
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").Stream(ctx)
	if err != nil {
		return false
	}
	defer body.Close()
	sc := bufio.NewScanner(io.LimitReader(body, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "kubernetes_feature_enabled{") && strings.Contains(line, `name="ConstrainedImpersonation"`) {
			return strings.HasSuffix(strings.TrimSpace(line), " 1")
		}
	}
	return false
}
