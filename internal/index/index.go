// Package index names the field indexes of the management cluster's
// informer cache that Herd looks objects up by, and registers them: who a
// binding is for, which cluster or project an object belongs to, whose a
// token is and which cluster it is scoped to, which User has a principal.
package index

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// The indexes.
const (
	// Subject indexes GlobalRoleBindings and role template bindings by
	// SubjectKey of their subject.
	Subject = "subject"
	// Cluster indexes ClusterRoleTemplateBindings and Projects by spec.clusterName.
	Cluster = "spec.clusterName"
	// Project indexes ProjectRoleTemplateBindings by spec.projectName.
	Project = "spec.projectName"
	// Principal indexes Users by spec.principalIds.
	Principal = "spec.principalIds"
	// TokenUser indexes Tokens by spec.userName.
	TokenUser = "spec.userName"
	// TokenCluster indexes Tokens by spec.clusterName.
	TokenCluster = "token.spec.clusterName"
)

// SubjectKey is the Subject index value of a user (by User id) or group.
func SubjectKey(s v1.Subject) string {
	if s.UserName != "" {
		return "user:" + s.UserName
	}
	return "group:" + s.GroupPrincipalID
}

// SubjectKeys are the index values that select the bindings of a user and
// their groups.
func SubjectKeys(userName string, groups []string) []string {
	keys := []string{SubjectKey(v1.Subject{UserName: userName})}
	for _, g := range groups {
		keys = append(keys, SubjectKey(v1.Subject{GroupPrincipalID: g}))
	}
	return keys
}

// Func is one index of one type.
type Func struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// All are the indexes Herd uses.
func All() []Func {
	one := func(f func(client.Object) string) client.IndexerFunc {
		return func(o client.Object) []string {
			if v := f(o); v != "" {
				return []string{v}
			}
			return nil
		}
	}
	return []Func{
		{&v1.GlobalRoleBinding{}, Subject, one(func(o client.Object) string { return SubjectKey(o.(*v1.GlobalRoleBinding).Spec.Subject) })},
		{&v1.ClusterRoleTemplateBinding{}, Subject, one(func(o client.Object) string {
			return SubjectKey(o.(*v1.ClusterRoleTemplateBinding).Spec.Subject)
		})},
		{&v1.ProjectRoleTemplateBinding{}, Subject, one(func(o client.Object) string {
			return SubjectKey(o.(*v1.ProjectRoleTemplateBinding).Spec.Subject)
		})},
		{&v1.ClusterRoleTemplateBinding{}, Cluster, one(func(o client.Object) string { return o.(*v1.ClusterRoleTemplateBinding).Spec.ClusterName })},
		{&v1.Project{}, Cluster, one(func(o client.Object) string { return o.(*v1.Project).Spec.ClusterName })},
		{&v1.ProjectRoleTemplateBinding{}, Project, one(func(o client.Object) string { return o.(*v1.ProjectRoleTemplateBinding).Spec.ProjectName })},
		{&v1.User{}, Principal, func(o client.Object) []string { return o.(*v1.User).Spec.PrincipalIDs }},
		{&v1.Token{}, TokenUser, one(func(o client.Object) string { return o.(*v1.Token).Spec.UserName })},
		{&v1.Token{}, TokenCluster, one(func(o client.Object) string { return o.(*v1.Token).Spec.ClusterName })},
	}
}

// Add registers every index with an indexer (a manager's, or a cache's).
func Add(ctx context.Context, indexer client.FieldIndexer) error {
	for _, ix := range All() {
		if err := indexer.IndexField(ctx, ix.Object, ix.Field, ix.Extract); err != nil {
			return err
		}
	}
	return nil
}
