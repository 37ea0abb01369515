// Package impersonation gives every Herd user, in every downstream cluster,
// a service account that may impersonate only that user, their groups and
// their principal ids (as Rancher does). The proxy forwards a user's
// requests with that account's token, so a flaw in the proxy's header
// handling cannot make anyone else, system:masters included.
package impersonation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authnv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"herd.dev/herd/internal/wellknown"
)

// tokenTTL is the lifetime of the tokens requested; they are renewed at
// two thirds of it.
const tokenTTL = time.Hour

// Label marks every object of an impersonation account: "user" for a Herd
// user's, "target" for one that acts for `kubectl --as`.
const Label = "management.herd.dev/impersonation"

var managedBy = wellknown.ManagedLabels(map[string]string{Label: "user"})

// Subject is whom a service account may impersonate.
type Subject struct {
	User       string
	Groups     []string
	Principals []string
	Username   string
}

// Accounts hands out impersonation tokens for one downstream cluster,
// creating the accounts on first use and caching the tokens.
type Accounts struct {
	// Client reaches the downstream cluster with the agent's credential.
	Client kubernetes.Interface
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]cached // by user
	// fetch makes concurrent first requests of one user share one
	// round of writes and one TokenRequest.
	fetch singleflight.Group
}

type cached struct {
	token   string
	rules   string // hash of the rules the account was made with
	subject string // subjectKey of the subject those rules are for
	renewAt time.Time
}

// Token returns a token of the account that may impersonate exactly s.
func (a *Accounts) Token(ctx context.Context, s Subject) (string, error) {
	// The common case, a user's next request as the same subject, skips
	// building and hashing the rules.
	subject := subjectKey(s)
	a.mu.Lock()
	c, ok := a.tokens[s.User]
	a.mu.Unlock()
	if ok && c.subject == subject && a.now().Before(c.renewAt) {
		return c.token, nil
	}
	rules := rulesFor(s)
	key := rulesHash(rules)
	a.mu.Lock()
	c, ok = a.tokens[s.User]
	if ok && c.rules == key && a.now().Before(c.renewAt) {
		c.subject = subject // the same rules, listed in another order
		a.tokens[s.User] = c
		a.mu.Unlock()
		return c.token, nil
	}
	a.mu.Unlock()
	token, err, _ := a.fetch.Do(s.User+"\x00"+key, func() (any, error) { return a.refresh(ctx, s.User, rules, key) })
	if err != nil {
		return "", err
	}
	return token.(string), nil
}

// subjectKey encodes s unambiguously (every string length-prefixed).
func subjectKey(s Subject) string {
	var b strings.Builder
	put := func(v string) {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	list := func(vs []string) {
		b.WriteString(strconv.Itoa(len(vs)))
		b.WriteByte('[')
		for _, v := range vs {
			put(v)
		}
	}
	put(s.User)
	list(s.Groups)
	list(s.Principals)
	put(s.Username)
	return b.String()
}

// refresh makes sure the account and its role exist and gets a new token.
func (a *Accounts) refresh(ctx context.Context, user string, rules []rbacv1.PolicyRule, key string) (string, error) {
	if err := a.ensure(ctx, user, rules); err != nil {
		return "", err
	}
	tr, err := a.Client.CoreV1().ServiceAccounts(wellknown.Namespace).CreateToken(ctx, accountName(user), &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(tokenTTL.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to get a token for %s: %w", accountName(user), err)
	}
	a.mu.Lock()
	if a.tokens == nil {
		a.tokens = map[string]cached{}
	}
	a.tokens[user] = cached{token: tr.Status.Token, rules: key, renewAt: a.now().Add(tokenTTL * 2 / 3)}
	a.mu.Unlock()
	return tr.Status.Token, nil
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// accountName is the downstream name of a user's objects.
func accountName(user string) string { return "herd-imp-" + strings.ToLower(user) }

// rulesFor allows impersonating the user, the groups (with
// system:authenticated) and the extras the proxy sets.
func rulesFor(s Subject) []rbacv1.PolicyRule {
	groups := append(slices.Clone(s.Groups), "system:authenticated")
	slices.Sort(groups)
	rules := []rbacv1.PolicyRule{
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{s.User}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"groups"}, ResourceNames: slices.Compact(groups)},
		// The request token id varies per token and grants nothing.
		{Verbs: []string{"impersonate"}, APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"userextras/requesttokenid"}},
	}
	if len(s.Principals) > 0 {
		rules = append(rules, rbacv1.PolicyRule{Verbs: []string{"impersonate"}, APIGroups: []string{"authentication.k8s.io"},
			Resources: []string{"userextras/principalid"}, ResourceNames: s.Principals})
	}
	if s.Username != "" {
		rules = append(rules, rbacv1.PolicyRule{Verbs: []string{"impersonate"}, APIGroups: []string{"authentication.k8s.io"},
			Resources: []string{"userextras/username"}, ResourceNames: []string{s.Username}})
	}
	return rules
}

func rulesHash(rules []rbacv1.PolicyRule) string {
	h := sha256.New()
	for _, r := range rules {
		fmt.Fprintf(h, "%v|%v|%v|%v\n", r.Verbs, r.APIGroups, r.Resources, r.ResourceNames)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func ptr[T any](v T) *T { return &v }
