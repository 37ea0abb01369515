package clusters

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// watchRBACInputs makes changes of role templates, bindings and projects
// trigger the RBAC controllers of the clusters they concern.
func (m *Manager) WatchRBACInputs(ctx context.Context, informers cache.Informers) error {
	clustersOf := map[client.Object]func(obj any) []string{
		&v1.RoleTemplate{}: func(any) []string { return nil }, // every cluster
		&v1.ClusterRoleTemplateBinding{}: func(obj any) []string {
			return []string{obj.(*v1.ClusterRoleTemplateBinding).Spec.ClusterName}
		},
		&v1.Project{}: func(obj any) []string { return []string{obj.(*v1.Project).Spec.ClusterName} },
		&v1.ProjectRoleTemplateBinding{}: func(obj any) []string {
			if c := m.cfg.Authz.ProjectCluster(ctx, obj.(*v1.ProjectRoleTemplateBinding).Spec.ProjectName); c != "" {
				return []string{c}
			}
			return nil // the project is gone: let every cluster look
		},
	}
	if err := m.watchTokenInputs(ctx, informers); err != nil {
		return err
	}
	for obj, of := range clustersOf {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("failed to watch %T: %w", obj, err)
		}
		trigger := func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if _, ok := o.(client.Object); !ok {
				return
			}
			m.TriggerRBAC(of(o)...)
		}
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    trigger,
			UpdateFunc: func(old, cur any) { trigger(old); trigger(cur) },
			DeleteFunc: trigger,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// watchTokenInputs makes changes of tokens and users trigger the token
// copy controllers: a token's change its cluster's, a user's every
// cluster's (groups and enabled are in every copy of the user's tokens).
func (m *Manager) watchTokenInputs(ctx context.Context, informers cache.Informers) error {
	handlers := map[client.Object]func(obj any){
		&v1.Token{}: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if tok, ok := o.(*v1.Token); ok && tok.Spec.ClusterName != "" {
				m.TriggerTokens(tok.Spec.ClusterName)
			}
		},
		&v1.User{}:              func(any) { m.TriggerTokens() },
		&v1.GlobalRoleBinding{}: func(any) { m.TriggerTokens() }, // who administers every cluster
		&v1.GlobalRole{}:        func(any) { m.TriggerTokens() },
	}
	for obj, h := range handlers {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("failed to watch %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: h, UpdateFunc: func(_, cur any) { h(cur) }, DeleteFunc: h,
		}); err != nil {
			return err
		}
	}
	return nil
}
