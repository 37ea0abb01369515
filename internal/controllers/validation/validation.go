// Package validation keeps the Ready condition of RoleTemplates, cluster
// and project role template bindings and Projects: whether what they name
// exists and makes sense, and whether their cluster is connected, so that
// a bad object says what is wrong instead of silently doing nothing. It
// runs on the leader.
package validation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/roles"
)

// verdict is a Ready condition's status, reason and message.
type verdict struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func ok(reason, message string) verdict { return verdict{metav1.ConditionTrue, reason, message} }
func bad(reason, format string, args ...any) verdict {
	return verdict{metav1.ConditionFalse, reason, fmt.Sprintf(format, args...)}
}

// checker computes the verdicts from the cache.
type checker struct {
	c client.Reader
}

func (k checker) template(ctx context.Context, name string) (*v1.RoleTemplate, error) {
	var rt v1.RoleTemplate
	if err := k.c.Get(ctx, client.ObjectKey{Name: name}, &rt); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return &rt, nil
}

func (k checker) roleTemplate(ctx context.Context, rt *v1.RoleTemplate) verdict {
	_, err := roles.Effective(func(n string) (*v1.RoleTemplate, error) { return k.template(ctx, n) }, rt.Name)
	switch {
	case errors.Is(err, roles.ErrCycle):
		return bad("InheritanceCycle", "%v; remove one of the roleTemplateNames", err)
	case errors.Is(err, roles.ErrNotFound):
		return bad("RoleTemplateNotFound", "%v", err)
	case err != nil:
		return bad("Invalid", "%v", err)
	}
	return ok("Valid", "the template is in every connected cluster as ClusterRole herd-rt-"+rt.Name)
}

// binding checks what both kinds of binding share.
func (k checker) binding(ctx context.Context, template, context, cluster string, s v1.Subject) verdict {
	if err := roles.CheckSubject(s); err != nil {
		return bad("InvalidSubject", "%v", err)
	}
	rt, err := k.template(ctx, template)
	switch {
	case err != nil:
		return bad("Error", "%v", err)
	case rt == nil:
		return bad("RoleTemplateNotFound", "role template %s does not exist", template)
	case rt.Spec.Context != context:
		return bad("WrongContext", "role template %s is for %ss, not %ss", template, rt.Spec.Context, context)
	}
	if v := k.roleTemplate(ctx, rt); v.status != metav1.ConditionTrue {
		return bad("InvalidRoleTemplate", "role template %s is invalid: %s", template, v.message)
	}
	var c v1.Cluster
	if err := k.c.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil {
		return bad("ClusterNotFound", "cluster %s does not exist", cluster)
	}
	if !meta.IsStatusConditionTrue(c.Status.Conditions, v1.ClusterConnected) {
		return verdict{metav1.ConditionUnknown, "ClusterOffline",
			fmt.Sprintf("cluster %s is not connected; the binding applies when its agent reconnects", cluster)}
	}
	return ok("Valid", "valid, and cluster "+cluster+" is connected: Herd applies it there and puts it back if it is changed "+
		"(the Cluster's RBACSynced condition reports a sync that fails)")
}

func (k checker) crtb(ctx context.Context, b *v1.ClusterRoleTemplateBinding) verdict {
	return k.binding(ctx, b.Spec.RoleTemplateName, v1.ContextCluster, b.Spec.ClusterName, b.Spec.Subject)
}

func (k checker) prtb(ctx context.Context, b *v1.ProjectRoleTemplateBinding) verdict {
	var p v1.Project
	if err := k.c.Get(ctx, client.ObjectKey{Name: b.Spec.ProjectName}, &p); err != nil {
		return bad("ProjectNotFound", "project %s does not exist", b.Spec.ProjectName)
	}
	return k.binding(ctx, b.Spec.RoleTemplateName, v1.ContextProject, p.Spec.ClusterName, b.Spec.Subject)
}

func (k checker) project(ctx context.Context, p *v1.Project) verdict {
	var c v1.Cluster
	if err := k.c.Get(ctx, client.ObjectKey{Name: p.Spec.ClusterName}, &c); err != nil {
		return bad("ClusterNotFound", "cluster %s does not exist", p.Spec.ClusterName)
	}
	return ok("Valid", fmt.Sprintf("%d namespace(s) of cluster %s", len(p.Status.Namespaces), p.Spec.ClusterName))
}

// Options configure the controllers.
type Options struct {
	Logger *slog.Logger
}

// Setup registers one controller per kind with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	k := checker{c: mgr.GetClient()}
	kinds := []struct {
		name  string
		obj   client.Object
		list  client.ObjectList
		check func(ctx context.Context, obj client.Object) verdict
		conds func(obj client.Object) *[]metav1.Condition
	}{
		{"roletemplate", &v1.RoleTemplate{}, &v1.RoleTemplateList{},
			func(ctx context.Context, o client.Object) verdict { return k.roleTemplate(ctx, o.(*v1.RoleTemplate)) },
			func(o client.Object) *[]metav1.Condition { return &o.(*v1.RoleTemplate).Status.Conditions }},
		{"crtb", &v1.ClusterRoleTemplateBinding{}, &v1.ClusterRoleTemplateBindingList{},
			func(ctx context.Context, o client.Object) verdict {
				return k.crtb(ctx, o.(*v1.ClusterRoleTemplateBinding))
			},
			func(o client.Object) *[]metav1.Condition {
				return &o.(*v1.ClusterRoleTemplateBinding).Status.Conditions
			}},
		{"prtb", &v1.ProjectRoleTemplateBinding{}, &v1.ProjectRoleTemplateBindingList{},
			func(ctx context.Context, o client.Object) verdict {
				return k.prtb(ctx, o.(*v1.ProjectRoleTemplateBinding))
			},
			func(o client.Object) *[]metav1.Condition {
				return &o.(*v1.ProjectRoleTemplateBinding).Status.Conditions
			}},
		{"project", &v1.Project{}, &v1.ProjectList{},
			func(ctx context.Context, o client.Object) verdict { return k.project(ctx, o.(*v1.Project)) },
			func(o client.Object) *[]metav1.Condition { return &o.(*v1.Project).Status.Conditions }},
	}
	for _, kind := range kinds {
		r := &reconciler{c: mgr.GetClient(), obj: kind.obj, check: kind.check, conds: kind.conds, log: opts.Logger}
		all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
			return everyObject(ctx, mgr.GetClient(), kind.list)
		})
		// Names are unique per process; tests run several servers in one.
		skip := true
		b := ctrl.NewControllerManagedBy(mgr).Named("validate-"+kind.name).For(kind.obj).
			WithOptions(controller.Options{SkipNameValidation: &skip}).
			Watches(&v1.RoleTemplate{}, all).Watches(&v1.Cluster{}, all, builder.WithPredicates(connectivityChanged))
		if kind.name == "prtb" {
			b = b.Watches(&v1.Project{}, all)
		}
		if err := b.Complete(r); err != nil {
			return err
		}
	}
	return nil
}

// connectivityChanged passes Cluster events that change whether it is
// connected, not the frequent status updates in between.
var connectivityChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	connected := func(o client.Object) bool {
		return meta.IsStatusConditionTrue(o.(*v1.Cluster).Status.Conditions, v1.ClusterConnected)
	}
	return connected(e.ObjectOld) != connected(e.ObjectNew)
}}

func everyObject(ctx context.Context, c client.Reader, list client.ObjectList) []reconcile.Request {
	l := list.DeepCopyObject().(client.ObjectList)
	if err := c.List(ctx, l); err != nil {
		return nil
	}
	var out []reconcile.Request
	_ = meta.EachListItem(l, func(o runtime.Object) error {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o.(client.Object))})
		return nil
	})
	return out
}

type reconciler struct {
	c     client.Client
	obj   client.Object
	check func(ctx context.Context, obj client.Object) verdict
	conds func(obj client.Object) *[]metav1.Condition
	log   *slog.Logger
}

var _ reconcile.Reconciler = (*reconciler)(nil)

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := r.obj.DeepCopyObject().(client.Object)
	if err := r.c.Get(ctx, req.NamespacedName, obj); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	v := r.check(ctx, obj)
	cond := metav1.Condition{Type: v1.ConditionReady, Status: v.status, Reason: v.reason, Message: v.message, ObservedGeneration: obj.GetGeneration()}
	if !meta.SetStatusCondition(r.conds(obj), cond) {
		return reconcile.Result{}, nil
	}
	if err := r.c.Status().Update(ctx, obj); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{Requeue: true}, nil // changed meanwhile: look again
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, nil
}
