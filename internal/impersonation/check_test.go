package impersonation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// reviewsAllowing is a clientset whose SubjectAccessReviews allow the
// impersonate checks that allow returns true for, and records them.
func reviewsAllowing(allow func(a *authzv1.ResourceAttributes) bool, seen *[]authzv1.SubjectAccessReviewSpec) *fake.Clientset {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "subjectaccessreviews", func(action clienttesting.Action) (bool, runtime.Object, error) {
		sar := action.(clienttesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview).DeepCopy()
		*seen = append(*seen, sar.Spec)
		sar.Status.Allowed = sar.Spec.ResourceAttributes != nil && allow(sar.Spec.ResourceAttributes)
		return true, sar, nil
	})
	return kube
}

func TestChecker(t *testing.T) {
	// The caller may impersonate any user and the group team-a; nothing else.
	allow := func(a *authzv1.ResourceAttributes) bool {
		return a.Verb == "impersonate" && a.Group == "" && (a.Resource == "users" || a.Resource == "groups" && a.Name == "team-a")
	}
	caller := &user.DefaultInfo{Name: "u-caller", Groups: []string{"github_team://1", "system:authenticated"},
		Extra: map[string][]string{"principalid": {"local://u-caller"}}}
	tests := []struct {
		name    string
		headers http.Header
		want    string // the identity, or the refusal's status code
	}{
		{"a user", http.Header{"Impersonate-User": {"alice"}}, "alice [system:authenticated] map[] "},
		{"a user and an allowed group", http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"team-a"}}, "alice [team-a system:authenticated] map[] "},
		{"another group", http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:masters"}}, "403"},
		{"a service account, as serviceaccounts", http.Header{"Impersonate-User": {"system:serviceaccount:kube-system:admin"}}, "403"},
		{"a uid", http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"42"}}, "403"},
		{"an extra", http.Header{"Impersonate-User": {"alice"}, "Impersonate-Extra-Scopes": {"view"}}, "403"},
		{"a group without a user", http.Header{"Impersonate-Group": {"team-a"}}, "400"},
	}
	for _, constrained := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if constrained {
				name += " (constrained)"
			}
			t.Run(name, func(t *testing.T) {
				var seen []authzv1.SubjectAccessReviewSpec
				c := NewChecker(reviewsAllowing(allow, &seen), constrained)
				r, _ := http.NewRequest("GET", "https://herd/k8s/clusters/c1/api/v1/namespaces/default/pods", nil)
				r.Header = tt.headers.Clone()
				u, err := c.Check(context.Background(), r, "/api/v1/namespaces/default/pods", caller)
				var got string
				var refusal *Refusal
				switch {
				case errors.As(err, &refusal):
					got = strconv.Itoa(refusal.Code)
				case err != nil:
					t.Fatal(err)
				default:
					got = fmt.Sprintf("%s [%s] %s %s", u.GetName(), strings.Join(u.GetGroups(), " "), fmtMap(u.GetExtra()), u.GetUID())
				}
				if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				if len(r.Header) != len(tt.headers) {
					t.Errorf("Check changed the request's headers: %v", r.Header)
				}
				for _, spec := range seen {
					if spec.User != "u-caller" || !slices.Equal(spec.Groups, caller.Groups) || spec.Extra["principalid"][0] != "local://u-caller" {
						t.Errorf("a review asked about %+v, want the caller", spec)
					}
				}
			})
		}
	}
}

func fmtMap(m map[string][]string) string {
	if len(m) == 0 {
		return "map[]"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, k+":"+strings.Join(v, ","))
	}
	slices.Sort(parts)
	return "map[" + strings.Join(parts, " ") + "]"
}

func TestTargetRules(t *testing.T) {
	u := &user.DefaultInfo{Name: "system:serviceaccount:ns1:sa1", UID: "42",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"},
		Extra:  map[string][]string{"example.org/team": {"a", "b"}}}
	rules, ns, saRule := targetRules(u)
	if ns != "ns1" || saRule == nil || !slices.Equal(saRule.Resources, []string{"serviceaccounts"}) || !slices.Equal(saRule.ResourceNames, []string{"sa1"}) {
		t.Errorf("service account rule: got %q %+v, want serviceaccounts sa1 in ns1", ns, saRule)
	}
	for _, r := range rules {
		if len(r.ResourceNames) == 0 || !slices.Equal(r.Verbs, []string{"impersonate"}) {
			t.Errorf("rule %+v: want impersonate on named objects only", r)
		}
		if slices.Contains(r.Resources, "users") {
			t.Errorf("a service account's account may impersonate users: %+v", r)
		}
	}
	if len(rules) != 3 {
		t.Errorf("got rules %+v, want groups, uids and one extra", rules)
	}
	if targetKey(u) == targetKey(&user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups}) {
		t.Error("an identity with and without an extra have the same key")
	}
}
