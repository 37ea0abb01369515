package roles

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	v1 "herd.dev/herd/api/v1"
)

// Errors of template resolution.
var (
	ErrNotFound = errors.New("roles: role template not found")
	ErrCycle    = errors.New("roles: role template inheritance cycle")
)

// MaxDepth bounds inheritance chains.
const MaxDepth = 32

// Getter looks up a RoleTemplate by name; it returns (nil, nil) when there
// is none.
type Getter func(name string) (*v1.RoleTemplate, error)

// Effective returns the rules of template name with those of every
// template it inherits, in order, each rule once. A missing template
// anywhere in the chain is ErrNotFound; a template that inherits itself,
// directly or through others, is ErrCycle.
func Effective(get Getter, name string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	done := map[string]bool{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		if slices.Contains(path, name) {
			return fmt.Errorf("%w: %s", ErrCycle, strings.Join(append(path, name), " -> "))
		}
		if done[name] {
			return nil
		}
		if len(path) >= MaxDepth {
			return fmt.Errorf("%w: deeper than %d: %s", ErrCycle, MaxDepth, strings.Join(path, " -> "))
		}
		rt, err := get(name)
		if err != nil {
			return err
		}
		if rt == nil {
			if len(path) == 0 {
				return fmt.Errorf("%w: %s", ErrNotFound, name)
			}
			return fmt.Errorf("%w: %s (inherited by %s)", ErrNotFound, name, path[len(path)-1])
		}
		for _, r := range rt.Spec.Rules {
			if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return equalRule(x, r) }) {
				rules = append(rules, r)
			}
		}
		for _, parent := range rt.Spec.RoleTemplateNames {
			if err := visit(parent, append(slices.Clip(path), name)); err != nil {
				return err
			}
		}
		done[name] = true
		return nil
	}
	if err := visit(name, nil); err != nil {
		return nil, err
	}
	return rules, nil
}

func equalRule(a, b rbacv1.PolicyRule) bool {
	return slices.Equal(a.Verbs, b.Verbs) && slices.Equal(a.APIGroups, b.APIGroups) && slices.Equal(a.Resources, b.Resources) &&
		slices.Equal(a.ResourceNames, b.ResourceNames) && slices.Equal(a.NonResourceURLs, b.NonResourceURLs)
}
