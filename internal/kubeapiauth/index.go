package kubeapiauth

import (
	"errors"
	"log/slog"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"herd.dev/herd/internal/tokencopy"
)

// index holds the decoded token copies by token name, kept from the
// informer's events so that a review is one map read and no decoding.
// Each entry is replaced whole under the lock, so a review sees either the
// old copy or the new one, never a mix.
type index struct {
	cluster string
	log     *slog.Logger

	mu     sync.RWMutex
	copies map[string]*tokencopy.Copy // by token name
	bad    map[string]string          // Secret name -> resourceVersion already logged as malformed
}

var _ cache.ResourceEventHandler = (*index)(nil)

// errNotOurs is a copy whose label names another cluster; the informer's
// label selector keeps them away, this is the second lock.
var errNotOurs = errors.New("kubeapiauth: copy labelled for another cluster")

func newIndex(cluster string, log *slog.Logger) *index {
	return &index{cluster: cluster, log: log, copies: map[string]*tokencopy.Copy{}, bad: map[string]string{}}
}

// get returns the copy of a token, or nil.
func (x *index) get(tokenName string) *tokencopy.Copy {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.copies[tokenName]
}

func (x *index) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.copies)
}

func (x *index) OnAdd(obj any, _ bool) { x.put(obj) }

func (x *index) OnUpdate(_, obj any) { x.put(obj) }

func (x *index) OnDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if name, ok := tokenName(s); ok {
		delete(x.copies, name)
	}
	delete(x.bad, s.Name)
}

// put indexes a Secret's copy. A Secret that is not a well-formed copy of
// this cluster removes whatever was indexed under its name (an update
// must never leave the previous, granting version behind) and is logged
// once per resourceVersion.
func (x *index) put(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	c, err := tokencopy.FromSecret(s)
	if err == nil && s.Labels[tokencopy.Label] != x.cluster {
		err = errNotOurs
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		if name, ok := tokenName(s); ok {
			delete(x.copies, name)
		}
		if rv, seen := x.bad[s.Name]; !seen || rv != s.ResourceVersion {
			x.bad[s.Name] = s.ResourceVersion
			x.log.Info("ignoring malformed token copy", "secret", s.Namespace+"/"+s.Name, "err", err)
		}
		return
	}
	delete(x.bad, s.Name)
	x.copies[c.TokenName] = &c
}

// tokenName is the token a copy's Secret is named after; false for a
// Secret that is not named like a copy.
func tokenName(s *corev1.Secret) (string, bool) {
	return strings.CutPrefix(s.Name, tokencopy.Name(""))
}
