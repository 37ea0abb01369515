package kubeapiauth

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"herd.dev/herd/internal/herdtoken"
	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

// TestReviewDuringRewrites rewrites every copy again and again (new salt,
// new hash, alternating groups) while reviews run: a valid token must
// always be granted with one whole version of its copy, a disabled one
// never.
func TestReviewDuringRewrites(t *testing.T) {
	const n, rounds, readers = 20, 25, 2
	groupSets := [][]string{{"github_team://a1", "github_team://a2"}, {"github_team://b1"}}
	type tok struct {
		copy   tokencopy.Copy
		token  string
		secret string
	}
	var toks []tok
	var objs []runtime.Object
	for i := range n {
		c, token := newCopy(fmt.Sprintf("t-%d", i), func(c *tokencopy.Copy) {
			c.Enabled = i%2 == 0
			c.Groups = groupSets[0]
		})
		toks = append(toks, tok{copy: c, token: token, secret: token[len(c.TokenName)+1:]})
		objs = append(objs, c.Secret())
	}
	h := newHarness(t, true, objs...)

	var done atomic.Bool
	var wg sync.WaitGroup
	var reviews atomic.Int64
	for r := range readers {
		wg.Go(func() {
			for i := r; !done.Load(); i++ {
				tk := toks[i%n]
				out, err := h.Review(context.Background(), newReview(tk.token))
				if err != nil {
					t.Errorf("Review(%s): %v", tk.copy.TokenName, err)
					return
				}
				reviews.Add(1)
				st := out.Status
				switch {
				case st.Authenticated != tk.copy.Enabled:
					t.Errorf("Review(%s): authenticated %v, want %v", tk.copy.TokenName, st.Authenticated, tk.copy.Enabled)
					return
				case st.Authenticated && (st.User.Username != tk.copy.UserName ||
					!slices.Equal(st.User.Groups, groupSets[0]) && !slices.Equal(st.User.Groups, groupSets[1])):
					t.Errorf("Review(%s): user %+v is no version of the copy", tk.copy.TokenName, st.User)
					return
				}
			}
		})
	}
	secrets := h.kube.CoreV1().Secrets(wellknown.TokenCopiesNamespace)
	for round := range rounds {
		for _, tk := range toks {
			c := tk.copy
			c.Hash = herdtoken.Hash(tk.secret)
			c.Groups = groupSets[(round+1)%2]
			if _, err := secrets.Update(context.Background(), c.Secret(), metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Let the informer deliver the last writes before the readers stop.
	last := toks[0]
	eventually(t, "the last rewrite indexed", func() bool {
		return slices.Equal(h.index.get(last.copy.TokenName).Groups, groupSets[rounds%2])
	})
	done.Store(true)
	wg.Wait()
	t.Logf("%d reviews during %d rewrites", reviews.Load(), n*rounds)
}
