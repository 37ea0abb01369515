// Package kubeversion holds the version skew rules of Kubernetes
// upgrades (kubernetes.io/releases/version-skew-policy) that Herd keeps:
// one minor at a time, never down.
package kubeversion

import (
	"fmt"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// CheckChange says why a cluster that runs from cannot change to to ("" if
// it can): downgrades and skipping a minor are refused.
func CheckChange(from, to string) string {
	f, err1 := utilversion.ParseSemantic(from)
	t, err2 := utilversion.ParseSemantic(to)
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Sprintf("%.40q or %.40q is not a Kubernetes version", from, to)
	case t.LessThan(f):
		return fmt.Sprintf("Kubernetes %s is older than %s: downgrades are not supported (restore an etcd snapshot taken before the upgrade instead)", to, from)
	case t.Major() != f.Major() || t.Minor() > f.Minor()+1:
		return fmt.Sprintf("Kubernetes %s skips a minor version after %s: upgrade one minor at a time (to v%d.%d first)", to, from, f.Major(), f.Minor()+1)
	}
	return ""
}

// Older reports whether a is an older version than b (false if either is
// not a version).
func Older(a, b string) bool {
	x, err1 := utilversion.ParseSemantic(a)
	y, err2 := utilversion.ParseSemantic(b)
	return err1 == nil && err2 == nil && x.LessThan(y)
}
