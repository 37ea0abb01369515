package server

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "herd.dev/herd/api/v1"
)

// watchRBACInputs makes changes of role templates, bindings and projects
// trigger the RBAC controllers of the clusters they concern.
func (s *Server) watchRBACInputs(ctx context.Context, mgr manager.Manager) error {
	clustersOf := map[client.Object]func(obj any) []string{
		&v1.RoleTemplate{}: func(any) []string { return nil }, // every cluster
		&v1.ClusterRoleTemplateBinding{}: func(obj any) []string {
			return []string{obj.(*v1.ClusterRoleTemplateBinding).Spec.ClusterName}
		},
		&v1.Project{}: func(obj any) []string { return []string{obj.(*v1.Project).Spec.ClusterName} },
		&v1.ProjectRoleTemplateBinding{}: func(obj any) []string {
			if c := s.projectCluster(ctx, obj.(*v1.ProjectRoleTemplateBinding).Spec.ProjectName); c != "" {
				return []string{c}
			}
			return nil // the project is gone: let every cluster look
		},
	}
	for obj, of := range clustersOf {
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
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
			s.triggerRBAC(of(o)...)
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
