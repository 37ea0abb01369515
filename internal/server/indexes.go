package server

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "herd.dev/herd/api/v1"
)

// Cache indexes.
const (
	// subjectIndex indexes bindings by subjectKey of their subject.
	subjectIndex = "subject"
	// clusterIndex indexes ClusterRoleTemplateBindings and Projects by spec.clusterName.
	clusterIndex = "spec.clusterName"
	// projectIndex indexes ProjectRoleTemplateBindings by spec.projectName.
	projectIndex = "spec.projectName"
	// principalIndex indexes Users by spec.principalIds.
	principalIndex = "spec.principalIds"
	// tokenUserIndex indexes Tokens by spec.userName.
	tokenUserIndex = "spec.userName"
	// tokenClusterIndex indexes Tokens by spec.clusterName.
	tokenClusterIndex = "token.spec.clusterName"
)

// subjectKey is the index value of a user (by User id) or group subject.
func subjectKey(s v1.Subject) string {
	if s.UserName != "" {
		return "user:" + s.UserName
	}
	return "group:" + s.GroupPrincipalID
}

// subjectKeys are the index values that select the bindings of a user.
func subjectKeys(userName string, groups []string) []string {
	keys := []string{subjectKey(v1.Subject{UserName: userName})}
	for _, g := range groups {
		keys = append(keys, subjectKey(v1.Subject{GroupPrincipalID: g}))
	}
	return keys
}

// addIndexes registers the field indexes the request path and the
// controllers look objects up by.
func addIndexes(ctx context.Context, mgr manager.Manager) error {
	one := func(f func(client.Object) string) client.IndexerFunc {
		return func(o client.Object) []string {
			if v := f(o); v != "" {
				return []string{v}
			}
			return nil
		}
	}
	type index struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}
	indexes := []index{
		{&v1.GlobalRoleBinding{}, subjectIndex, one(func(o client.Object) string { return subjectKey(o.(*v1.GlobalRoleBinding).Spec.Subject) })},
		{&v1.ClusterRoleTemplateBinding{}, subjectIndex, one(func(o client.Object) string {
			return subjectKey(o.(*v1.ClusterRoleTemplateBinding).Spec.Subject)
		})},
		{&v1.ProjectRoleTemplateBinding{}, subjectIndex, one(func(o client.Object) string {
			return subjectKey(o.(*v1.ProjectRoleTemplateBinding).Spec.Subject)
		})},
		{&v1.ClusterRoleTemplateBinding{}, clusterIndex, one(func(o client.Object) string { return o.(*v1.ClusterRoleTemplateBinding).Spec.ClusterName })},
		{&v1.Project{}, clusterIndex, one(func(o client.Object) string { return o.(*v1.Project).Spec.ClusterName })},
		{&v1.ProjectRoleTemplateBinding{}, projectIndex, one(func(o client.Object) string { return o.(*v1.ProjectRoleTemplateBinding).Spec.ProjectName })},
	}
	indexes = append(indexes,
		index{&v1.User{}, principalIndex, func(o client.Object) []string { return o.(*v1.User).Spec.PrincipalIDs }},
		index{&v1.Token{}, tokenUserIndex, one(func(o client.Object) string { return o.(*v1.Token).Spec.UserName })},
		index{&v1.Token{}, tokenClusterIndex, one(func(o client.Object) string { return o.(*v1.Token).Spec.ClusterName })},
	)
	for _, ix := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(ctx, ix.obj, ix.field, ix.fn); err != nil {
			return err
		}
	}
	return nil
}
