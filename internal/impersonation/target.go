package impersonation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"

	"herd.dev/herd/internal/wellknown"
)

// maxTargets bounds the --as accounts whose tokens a cluster's Accounts
// keeps in memory; the least recently minted is dropped first.
const maxTargets = 512

// TargetToken returns a token of an account that may impersonate exactly
// u (its user or service account, groups, uid and extras) and nothing
// else. The proxy forwards a `kubectl --as` request with it once the
// cluster has said the caller may act as u, so the credential it forwards
// cannot act as anyone the caller could not.
func (a *Accounts) TargetToken(ctx context.Context, u user.Info) (string, error) {
	key := targetKey(u)
	name := "herd-as-" + key[:20]
	a.mu.Lock()
	c, ok := a.tokens[name]
	a.mu.Unlock()
	if ok && c.subject == key && a.now().Before(c.renewAt) {
		return c.token, nil
	}
	token, err, _ := a.fetch.Do(name, func() (any, error) { return a.refreshTarget(ctx, name, key, u) })
	if err != nil {
		return "", err
	}
	return token.(string), nil
}

// targetKey identifies u unambiguously (length-prefixed fields, sorted
// extras), hashed.
func targetKey(u user.Info) string {
	h := sha256.New()
	put := func(v string) { fmt.Fprintf(h, "%d:%s", len(v), v) }
	put(u.GetName())
	put(u.GetUID())
	fmt.Fprintf(h, "%d[", len(u.GetGroups()))
	for _, g := range u.GetGroups() {
		put(g)
	}
	extra := u.GetExtra()
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(h, "%d{", len(keys))
	for _, k := range keys {
		put(k)
		fmt.Fprintf(h, "%d[", len(extra[k]))
		for _, v := range extra[k] {
			put(v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// targetRules are the cluster-wide rules of u's account, and the
// namespace and rule of the service account u is, if it is one.
func targetRules(u user.Info) (rules []rbacv1.PolicyRule, saNamespace string, saRule *rbacv1.PolicyRule) {
	imp := func(group, resource string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: []string{"impersonate"}, APIGroups: []string{group}, Resources: []string{resource},
			ResourceNames: slices.Compact(slices.Sorted(slices.Values(names)))}
	}
	if ns, name, err := serviceaccount.SplitUsername(u.GetName()); err == nil {
		r := imp("", "serviceaccounts", name)
		saNamespace, saRule = ns, &r
	} else {
		rules = append(rules, imp("", "users", u.GetName()))
	}
	if len(u.GetGroups()) > 0 {
		rules = append(rules, imp("", "groups", u.GetGroups()...))
	}
	if uid := u.GetUID(); uid != "" {
		rules = append(rules, imp(authnv1.SchemeGroupVersion.Group, "uids", uid))
	}
	extra := u.GetExtra()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range extra {
			if !yield(k) {
				return
			}
		}
	}) {
		rules = append(rules, imp(authnv1.SchemeGroupVersion.Group, "userextras/"+k, extra[k]...))
	}
	return rules, saNamespace, saRule
}

func (a *Accounts) refreshTarget(ctx context.Context, name, key string, u user.Info) (string, error) {
	rules, saNS, saRule := targetRules(u)
	labels := wellknown.ManagedLabels(map[string]string{Label: "target"})
	if err := a.ensureAccount(ctx, name, labels, rules); err != nil {
		return "", err
	}
	if saRule != nil {
		if err := a.ensureNamespaced(ctx, name, labels, saNS, *saRule); err != nil {
			return "", err
		}
	}
	tr, err := a.Client.CoreV1().ServiceAccounts(wellknown.Namespace).CreateToken(ctx, name, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(tokenTTL.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to get a token for %s: %w", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens == nil {
		a.tokens = map[string]cached{}
	}
	a.forgetOldTargets()
	a.tokens[name] = cached{token: tr.Status.Token, subject: key, renewAt: a.now().Add(tokenTTL * 2 / 3)}
	return tr.Status.Token, nil
}

// forgetOldTargets drops the --as token renewed soonest when maxTargets
// are kept. Callers hold a.mu.
func (a *Accounts) forgetOldTargets() {
	var n int
	var oldest string
	for name, c := range a.tokens {
		if !strings.HasPrefix(name, "herd-as-") {
			continue
		}
		n++
		if oldest == "" || c.renewAt.Before(a.tokens[oldest].renewAt) {
			oldest = name
		}
	}
	if n >= maxTargets {
		delete(a.tokens, oldest)
	}
}

// ensureNamespaced lets the account impersonate a service account in its
// own namespace only: a RoleBinding there. If that namespace does not
// exist (impersonating such a service account is allowed), the grant is
// cluster-wide, still for that one name.
func (a *Accounts) ensureNamespaced(ctx context.Context, name string, labels map[string]string, ns string, rule rbacv1.PolicyRule) error {
	roleName := name + "-sa"
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: roleName, Labels: labels}, Rules: []rbacv1.PolicyRule{rule}}
	if err := a.applyClusterRole(ctx, role); err != nil {
		return err
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: wellknown.Namespace, Name: name}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: roleName, Namespace: ns, Labels: labels}, RoleRef: ref, Subjects: subjects}
	_, err := a.Client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
	switch {
	case err == nil || apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsNotFound(err): // no such namespace
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: roleName, Labels: labels}, RoleRef: ref, Subjects: subjects}
		if _, err := a.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create cluster role binding %s: %w", roleName, err)
		}
		return nil
	}
	return fmt.Errorf("failed to create role binding %s/%s: %w", ns, roleName, err)
}
