package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	rbacv1 "k8s.io/api/rbac/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// RuleCache keeps the global rules of the identities last asked about, so
// that a proxied request does not list their GlobalRoleBindings and read
// their GlobalRoles again. Any change of a GlobalRole or GlobalRoleBinding
// drops everything kept: it is told of them by the informers after their
// store holds the change, so a rule computed from an older store was
// computed under an older generation and is not used.
type RuleCache struct {
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[string]ruleEntry
}

type ruleEntry struct {
	gen   uint64
	rules []rbacv1.PolicyRule
}

// maxRuleEntries bounds the identities kept; past it the cache starts over.
const maxRuleEntries = 4096

// Invalidate drops every kept rule set.
func (c *RuleCache) Invalidate() { c.gen.Add(1) }

// Watch makes changes of GlobalRoles and GlobalRoleBindings invalidate c.
func (c *RuleCache) Watch(ctx context.Context, informers cache.Informers) error {
	invalidate := func(any) { c.Invalidate() }
	for _, obj := range []client.Object{&v1.GlobalRole{}, &v1.GlobalRoleBinding{}} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("failed to watch %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: invalidate, UpdateFunc: func(_, cur any) { invalidate(cur) }, DeleteFunc: invalidate,
		}); err != nil {
			return err
		}
	}
	return nil
}

// rules returns the kept rules of (user, groups), or computes, keeps and
// returns them (those that compute reports failed are not kept). The
// slice is shared: callers only read it.
func (c *RuleCache) rules(user string, groups []string, compute func() ([]rbacv1.PolicyRule, bool)) []rbacv1.PolicyRule {
	key := user + "\x00" + strings.Join(groups, "\x00")
	gen := c.gen.Load() // before computing: a change during it makes the result stale
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.rules
	}
	rules, ok := compute()
	if !ok {
		return rules
	}
	rules = slices.Clip(rules)
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxRuleEntries {
		c.entries = map[string]ruleEntry{}
	}
	c.entries[key] = ruleEntry{gen: gen, rules: rules}
	c.mu.Unlock()
	return rules
}
