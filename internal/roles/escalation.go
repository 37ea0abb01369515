package roles

import (
	"fmt"
	"regexp"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	v1 "herd.dev/herd/api/v1"
)

// Missing returns the rules of want that held does not cover, by the
// Kubernetes escalation rule: a rule is covered when the holder may do
// every verb on every resource it names.
func Missing(held, want []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	ok, missing := validation.Covers(held, want)
	if ok {
		return nil
	}
	return missing
}

// Describe renders rules compactly for error messages, at most n of them.
func Describe(rules []rbacv1.PolicyRule, n int) string {
	var parts []string
	for i, r := range rules {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(rules)-n))
			break
		}
		if len(r.NonResourceURLs) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", strings.Join(r.Verbs, ","), strings.Join(r.NonResourceURLs, ",")))
			continue
		}
		res := strings.Join(r.Resources, ",")
		if g := strings.Join(r.APIGroups, ","); g != "" {
			res += "." + g
		}
		if len(r.ResourceNames) > 0 {
			res += "/" + strings.Join(r.ResourceNames, ",")
		}
		parts = append(parts, strings.Join(r.Verbs, ",")+" "+res)
	}
	return strings.Join(parts, "; ")
}

// Manage is the rule that lets a holder create or delete (verb) bindings
// of the given kind (clusterroletemplatebindings or
// projectroletemplatebindings) in a scope.
func Manage(resource, verb string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{resource}, Verbs: []string{verb}}}
}

// Subject is the Kubernetes RBAC subject of a Herd binding subject: a
// user by their User id, or a group by its principal id.
func Subject(s v1.Subject) rbacv1.Subject {
	if s.UserName != "" {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: s.UserName}
	}
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: s.GroupPrincipalID}
}

// groupPrincipal is provider://id: a group from an identity provider.
var groupPrincipal = regexp.MustCompile(`^[a-z][a-z0-9_]*://[^\x00-\x1f]+$`)

// MaxPrincipalBytes bounds a principal id.
const MaxPrincipalBytes = 512

// CheckSubject returns what is wrong with a binding subject, or nil. A
// group must be a provider's group principal (openldap_group://...,
// github_team://...): Kubernetes' own groups (system:authenticated,
// system:serviceaccounts, ...) and Herd's (herd:global-admins) would grant
// a role to everyone, every service account, or the administrators.
func CheckSubject(s v1.Subject) error {
	switch {
	case (s.UserName == "") == (s.GroupPrincipalID == ""):
		return fmt.Errorf("the subject must name exactly one of a user and a group")
	case s.GroupPrincipalID != "" && (len(s.GroupPrincipalID) > MaxPrincipalBytes || !groupPrincipal.MatchString(s.GroupPrincipalID)):
		return fmt.Errorf("group %q is not a group principal id: use provider://id (for example openldap_group://cn=devs,dc=example), at most %d bytes",
			truncate(s.GroupPrincipalID, 64), MaxPrincipalBytes)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// Matches reports whether a binding subject names the user or one of
// their groups.
func Matches(s v1.Subject, userName string, groups []string) bool {
	if s.UserName != "" {
		return s.UserName == userName
	}
	for _, g := range groups {
		if g == s.GroupPrincipalID {
			return true
		}
	}
	return false
}
