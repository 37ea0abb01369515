package kubeapiauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

func TestReview(t *testing.T) {
	valid, validToken := newCopy("t-valid", nil)
	expired, expiredToken := newCopy("t-expired", func(c *tokencopy.Copy) { c.ExpiresAt = testNow })
	disabled, disabledToken := newCopy("t-disabled", func(c *tokencopy.Copy) { c.Enabled = false })
	other, otherToken := newCopy("t-other", func(c *tokencopy.Copy) { c.Cluster = "c-other" })
	inOtherNS, inOtherNSToken := newCopy("t-ns", nil)
	nsSecret := inOtherNS.Secret()
	nsSecret.Namespace = "default"
	// Labelled for this cluster but scoped to another: FromSecret refuses it.
	relabelled, relabelledToken := newCopy("t-relabelled", func(c *tokencopy.Copy) { c.Cluster = "c-other" })
	relabelledSecret := relabelled.Secret()
	relabelledSecret.Labels[tokencopy.Label] = testCluster
	_, unknownToken := newCopy("t-unknown", nil)

	h := newHarness(t, true, valid.Secret(), expired.Secret(), disabled.Secret(), other.Secret(), nsSecret, relabelledSecret)
	// The index is only fed by the informer; a copy of another cluster
	// planted there tests the last check of authenticate on its own.
	planted, plantedToken := newCopy("t-planted", func(c *tokencopy.Copy) { c.Cluster = "c-other" })
	h.index.mu.Lock()
	h.index.copies[planted.TokenName] = &planted
	h.index.mu.Unlock()

	granted := authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
		Username: "u-t-valid", UID: "u-t-valid", Groups: []string{"github_team://1", "github_team://2"},
		Extra: map[string]authenticationv1.ExtraValue{"username": {"t-valid-login"}, "requesttokenid": {"t-valid"}},
	}}
	refused := authenticationv1.TokenReviewStatus{}
	secretOf := func(token string) string { _, s, _ := strings.Cut(token, ":"); return s }
	tests := []struct {
		name  string
		token string
		want  authenticationv1.TokenReviewStatus
	}{
		{"valid", validToken, granted},
		{"wrong secret", herdtoken.Format("t-valid", herdtoken.NewSecret()), refused},
		{"unknown token", unknownToken, refused},
		{"empty", "", refused},
		{"malformed", "t-valid", refused},
		{"malformed name", herdtoken.Format("T_VALID", secretOf(validToken)), refused},
		{"short secret", "t-valid:abc", refused},
		{"oversized", "t-valid:" + strings.Repeat("a", herdtoken.MaxBytes), refused},
		{"expired", expiredToken, refused},
		{"disabled", disabledToken, refused},
		{"copy of another cluster (not listed)", otherToken, refused},
		{"copy in another namespace (not listed)", inOtherNSToken, refused},
		{"copy scoped to another cluster, this cluster's label", relabelledToken, refused},
		{"copy scoped to another cluster in the index", plantedToken, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.review(t, tt.token)
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("Review(%s) status:\n got %+v\nwant %+v", tt.name, got, tt.want)
			}
		})
	}
	t.Run("tokens are not logged", func(t *testing.T) {
		logs := h.logs.String()
		for _, tok := range []string{validToken, expiredToken, disabledToken, otherToken, relabelledToken, plantedToken} {
			if s := secretOf(tok); strings.Contains(logs, s) {
				t.Errorf("log holds the secret of %s", strings.SplitN(tok, ":", 2)[0])
			}
		}
	})
	t.Run("malformed copy logged once", func(t *testing.T) {
		if got := strings.Count(h.logs.String(), "ignoring malformed token copy"); got != 1 {
			t.Errorf("malformed copy logged %d times, want 1", got)
		}
	})
}

func TestReviewListsOnlyThisCluster(t *testing.T) {
	h := newHarness(t, true)
	var got []string
	for _, a := range h.kube.Actions() {
		if l, ok := a.(clienttesting.ListAction); ok && a.GetResource().Resource == "secrets" {
			got = append(got, a.GetNamespace()+" "+l.GetListRestrictions().Labels.String())
		}
	}
	want := wellknown.TokenCopiesNamespace + " " + tokencopy.Label + "=" + testCluster
	if len(got) != 1 || got[0] != want {
		t.Errorf("secret lists: got %q, want [%q]", got, want)
	}
	// The fake's watch ignores the selector; the index is the second lock.
	other, otherToken := newCopy("t-late-other", func(c *tokencopy.Copy) { c.Cluster = "c-other" })
	mine, mineToken := newCopy("t-late-mine", nil)
	for _, c := range []tokencopy.Copy{other, mine} {
		if _, err := h.kube.CoreV1().Secrets(wellknown.TokenCopiesNamespace).Create(context.Background(), c.Secret(), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the later copy indexed", func() bool { return h.review(t, mineToken).Authenticated })
	if h.review(t, otherToken).Authenticated || h.index.get("t-late-other") != nil {
		t.Error("a copy labelled for another cluster was indexed")
	}
}

func TestReviewBadRequest(t *testing.T) {
	h := newHarness(t, true)
	_, token := newCopy("t-x", nil)
	tests := []struct {
		name, apiVersion, kind string
	}{
		{"v1beta1", "authentication.k8s.io/v1beta1", "TokenReview"},
		{"no apiVersion", "", "TokenReview"},
		{"wrong kind", "authentication.k8s.io/v1", "SubjectAccessReview"},
		{"no kind", "authentication.k8s.io/v1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newReview(token)
			in.APIVersion, in.Kind = tt.apiVersion, tt.kind
			out, err := h.Review(context.Background(), in)
			if !errors.Is(err, ErrBadReview) || out != nil {
				t.Errorf("Review: got %v, %v; want nil, ErrBadReview", out, err)
			}
		})
	}
}

func TestReviewNotSynced(t *testing.T) {
	valid, token := newCopy("t-valid", nil)
	tests := []struct {
		name  string
		setup func(*harness)
	}{
		{"not started", nil},
		{"list fails", func(h *harness) {
			h.kube.PrependReactor("list", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("etcdserver: request timed out")
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{kube: fake.NewClientset(valid.Secret())}
			s, err := New(Config{Kube: h.kube, Cluster: testCluster})
			if err != nil {
				t.Fatal(err)
			}
			h.Server = s
			if tt.setup != nil {
				tt.setup(h)
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(func() { cancel(); s.factory.Shutdown() })
				s.start(ctx)
				time.Sleep(100 * time.Millisecond) // the informer's first list fails meanwhile
			}
			out, err := s.Review(context.Background(), newReview(token))
			if !errors.Is(err, ErrNotSynced) || out != nil {
				t.Errorf("Review: got %v, %v; want nil, ErrNotSynced", out, err)
			}
		})
	}
}

// TestReviewFollowsCopies changes a copy and waits for each change to take
// effect.
func TestReviewFollowsCopies(t *testing.T) {
	c, token := newCopy("t-live", nil)
	h := newHarness(t, true, c.Secret())
	secrets := h.kube.CoreV1().Secrets(wellknown.TokenCopiesNamespace)
	ctx := context.Background()
	steps := []struct {
		name   string
		change func() error
		want   func(authenticationv1.TokenReviewStatus) bool
	}{
		{"groups updated", func() error {
			c.Groups = []string{"github_team://3"}
			_, err := secrets.Update(ctx, c.Secret(), metav1.UpdateOptions{})
			return err
		}, func(s authenticationv1.TokenReviewStatus) bool {
			return s.Authenticated && len(s.User.Groups) == 1 && s.User.Groups[0] == "github_team://3"
		}},
		{"disabled", func() error {
			c.Enabled = false
			_, err := secrets.Update(ctx, c.Secret(), metav1.UpdateOptions{})
			return err
		}, refusedStatus},
		{"enabled again", func() error {
			c.Enabled = true
			_, err := secrets.Update(ctx, c.Secret(), metav1.UpdateOptions{})
			return err
		}, grantedStatus},
		{"rewritten malformed", func() error {
			s := c.Secret()
			delete(s.Data, tokencopy.KeyHash)
			_, err := secrets.Update(ctx, s, metav1.UpdateOptions{})
			return err
		}, refusedStatus},
		{"restored", func() error {
			_, err := secrets.Update(ctx, c.Secret(), metav1.UpdateOptions{})
			return err
		}, grantedStatus},
		{"deleted", func() error {
			return secrets.Delete(ctx, tokencopy.Name(c.TokenName), metav1.DeleteOptions{})
		}, refusedStatus},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		eventually(t, st.name, func() bool { return st.want(h.review(t, token)) })
	}
}

func grantedStatus(s authenticationv1.TokenReviewStatus) bool { return s.Authenticated }
func refusedStatus(s authenticationv1.TokenReviewStatus) bool { return !s.Authenticated }

// A copy never makes anyone a member of a Kubernetes system group, and a
// copy of an earlier cluster of the same name (another UID) grants nothing
// where the Cluster's UID is known.
func TestReviewGroupsAndClusterUID(t *testing.T) {
	masters, mastersToken := newCopy("t-masters", func(c *tokencopy.Copy) {
		c.Groups = []string{"github_team://1", "system:masters", "herd:global-admins"}
		c.ClusterUID = "uid-now"
	})
	earlier, earlierToken := newCopy("t-earlier", func(c *tokencopy.Copy) { c.ClusterUID = "uid-before" })
	h := newHarness(t, true, masters.Secret(), earlier.Secret())
	if got := h.review(t, mastersToken); !got.Authenticated || strings.Join(got.User.Groups, ",") != "github_team://1,herd:global-admins" {
		t.Errorf("groups of a copy with system:masters: got %+v, want the others only", got)
	}
	if got := h.review(t, earlierToken); !got.Authenticated {
		t.Errorf("without --cluster-uid, a copy of any UID of the cluster grants: got %+v", got)
	}
	h.cfg.ClusterUID = "uid-now"
	if got := h.review(t, earlierToken); got.Authenticated {
		t.Errorf("a copy of an earlier cluster of the same name: got %+v, want refused", got)
	}
	if got := h.review(t, mastersToken); !got.Authenticated {
		t.Errorf("a copy of this cluster's UID: got %+v, want granted", got)
	}
}
