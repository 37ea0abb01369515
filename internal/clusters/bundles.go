package clusters

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authproxy"
)

// userConfig reaches the cluster as the Herd user named: through the
// account that may impersonate only that user, with the user's groups
// as the proxy would send them. Bundles are applied with it, so they do
// only what their creator may do in the cluster.
func (m *Manager) userConfig(ctx context.Context, d *downstream, cluster, userName string) (*rest.Config, error) {
	var u v1.User
	if err := m.cache.Get(ctx, client.ObjectKey{Name: userName}, &u); err != nil {
		return nil, fmt.Errorf("user %s: %w", userName, err)
	}
	if !u.Spec.Enabled {
		return nil, fmt.Errorf("user %s is disabled", userName)
	}
	id := &authn.Identity{UserName: u.Name, Username: u.Spec.Username, Principals: u.Spec.PrincipalIDs, Groups: u.Status.GroupPrincipals}
	caller := authproxy.Caller{UserID: u.Name, Username: u.Spec.Username, Principals: u.Spec.PrincipalIDs, Groups: u.Status.GroupPrincipals,
		Admin: m.cfg.Authz.IsClusterAdmin(ctx, id, cluster)}
	token, err := d.accounts.Token(ctx, subjectOf(caller))
	if err != nil {
		return nil, fmt.Errorf("no impersonation account for %s: %w", userName, err)
	}
	as := caller.Downstream()
	extra := map[string][]string{}
	if len(caller.Principals) > 0 {
		extra[authproxy.ExtraPrincipalID] = caller.Principals
	}
	if caller.Username != "" {
		extra[authproxy.ExtraUsername] = []string{caller.Username}
	}
	cfg := rest.CopyConfig(d.rest)
	cfg.BearerToken = token
	cfg.Impersonate = rest.ImpersonationConfig{UserName: as.User, Groups: as.Groups, Extra: extra}
	return cfg, nil
}

// WatchBundleDeployments makes changes of bundle deployments trigger the
// bundle controller of their cluster.
func (m *Manager) WatchBundleDeployments(ctx context.Context, informers cache.Informers) error {
	inf, err := informers.GetInformer(ctx, &v1.BundleDeployment{})
	if err != nil {
		return fmt.Errorf("failed to watch bundle deployments: %w", err)
	}
	trigger := func(o any) {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		bd, ok := o.(*v1.BundleDeployment)
		if !ok {
			return
		}
		m.runtimes.mu.Lock()
		r := m.runtimes.running[bd.Spec.ClusterName]
		m.runtimes.mu.Unlock()
		if r != nil {
			r.bundles.Trigger(bd.Name)
		}
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: trigger, UpdateFunc: func(_, cur any) { trigger(cur) }, DeleteFunc: trigger,
	})
	return err
}
