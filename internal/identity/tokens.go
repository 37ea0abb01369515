package identity

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/index"
)

// ErrTokenQuota means a user holds Config.MaxTokensPerUser live tokens.
var ErrTokenQuota = errors.New("identity: token quota reached")

// tokenLocks serialize token issuance per user on this replica, so that
// concurrent requests cannot run past the quota together.
type tokenLocks [64]sync.Mutex

func (l *tokenLocks) of(user string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(user))
	return &l[h.Sum32()%uint32(len(l))]
}

// LiveTokens lists a user's enabled, unexpired tokens, oldest first.
func (d *Directory) LiveTokens(ctx context.Context, userName string) ([]v1.Token, error) {
	var list v1.TokenList
	if err := d.cache.List(ctx, &list, client.MatchingFields{index.TokenUser: userName}); err != nil {
		return nil, err
	}
	now := d.now()
	live := slices.DeleteFunc(list.Items, func(t v1.Token) bool { return !t.Spec.Enabled || !now.Before(t.Spec.ExpiresAt.Time) })
	slices.SortFunc(live, func(a, b v1.Token) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return live, nil
}

// MintToken issues a token for user within the token quota. With
// evictSessions (a login), the user's oldest session tokens are deleted to
// make room, so a user can always log in to clean up; otherwise a full
// quota is ErrTokenQuota.
func (d *Directory) MintToken(ctx context.Context, user *v1.User, req authn.TokenRequest, evictSessions bool) (string, *v1.Token, error) {
	mu := d.tokenLocks.of(user.Name)
	mu.Lock()
	defer mu.Unlock()
	live, err := d.LiveTokens(ctx, user.Name)
	if err != nil {
		return "", nil, err
	}
	for i := 0; len(live) >= d.cfg.MaxTokensPerUser && evictSessions && i < len(live); i++ {
		if k := live[i].Spec.Kind; k != v1.TokenKindSession && k != v1.TokenKindBrowser {
			continue
		}
		if err := d.client.Delete(ctx, &live[i]); client.IgnoreNotFound(err) != nil {
			return "", nil, err
		}
		d.audit.Info("session ended: token quota", "user", user.Name, "token", live[i].Name)
		live = slices.Delete(live, i, i+1)
		i--
	}
	if len(live) >= d.cfg.MaxTokensPerUser && !evictSessions {
		return "", nil, fmt.Errorf("%w: user %s holds %d live tokens", ErrTokenQuota, user.Name, len(live))
	}
	token, tok, err := authn.Issue(ctx, d.client, d.cfg.TokenTTLs, d.now(), user, req)
	if err != nil {
		return "", nil, err
	}
	d.await(ctx, tok, false)
	return token, tok, nil
}

// ErrNoToken: no such token, or one the caller may not see.
var ErrNoToken = errors.New("identity: no such token")

// RevokeToken disables token name of caller, or of anyone when
// anyUser (the caller may update tokens). Others' tokens are ErrNoToken,
// as if absent. A revoked token expires now, so that it is deleted an hour
// later like an expired one; the authenticator refuses it at once.
func (d *Directory) RevokeToken(ctx context.Context, caller *authn.Identity, name string, anyUser bool) (*v1.Token, error) {
	var tok v1.Token
	if len(name) > 63 || d.cache.Get(ctx, client.ObjectKey{Name: name}, &tok) != nil || (tok.Spec.UserName != caller.UserName && !anyUser) {
		return nil, fmt.Errorf("%w: %.63s", ErrNoToken, name)
	}
	patch := client.MergeFrom(tok.DeepCopy())
	tok.Spec.Enabled = false
	if now := metav1.NewTime(d.now().Truncate(time.Second)); now.Before(&tok.Spec.ExpiresAt) {
		tok.Spec.ExpiresAt = now
	}
	if err := d.client.Patch(ctx, &tok, patch); err != nil {
		return nil, err
	}
	d.await(ctx, &tok, false)
	return &tok, nil
}
