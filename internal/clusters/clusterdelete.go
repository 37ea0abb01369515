package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/controllers/rbac"
	"herd.dev/herd/internal/impersonation"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/tokencopy"
	"herd.dev/herd/internal/wellknown"
)

// CleanupFinalizer keeps a deleted Cluster until Herd has removed what it
// wrote into the cluster (token copies, impersonation accounts, roles and
// bindings), which it can only do through the cluster's tunnel.
const CleanupFinalizer = "management.herd.dev/downstream-cleanup"

// watchClusters ends everything tied to a cluster when it is deleted, on
// every replica: its scoped tokens at once, its controllers and cached
// targets, its tunnel sessions once the object is gone; and it gives new
// clusters the cleanup finalizer.
func (m *Manager) WatchClusters(ctx context.Context, informers cache.Informers) error {
	inf, err := informers.GetInformer(ctx, &v1.Cluster{})
	if err != nil {
		return fmt.Errorf("failed to watch clusters: %w", err)
	}
	changed := func(obj any) {
		c, ok := obj.(*v1.Cluster)
		if !ok {
			return
		}
		m.queue.Add(c.Name)
		if c.DeletionTimestamp.IsZero() {
			if !slices.Contains(c.Finalizers, CleanupFinalizer) {
				go m.addCleanupFinalizer(ctx, c.DeepCopy())
			}
			return
		}
		go m.clusterTerminating(ctx, c.DeepCopy())
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, cur any) { changed(cur) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if c, ok := obj.(*v1.Cluster); ok {
				go m.clusterGone(ctx, c.DeepCopy())
			}
		},
	})
	return err
}

func (m *Manager) addCleanupFinalizer(ctx context.Context, c *v1.Cluster) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": append(slices.Clone(c.Finalizers), CleanupFinalizer), "resourceVersion": c.ResourceVersion}})
	if err := m.client.Patch(ctx, c, client.RawPatch(types.MergePatchType, patch)); err != nil && ctx.Err() == nil && !isConflictOrGone(err) {
		m.log.Warn("failed to add the cleanup finalizer", "cluster", c.Name, "err", err)
	}
}

// clusterTerminating runs when a cluster is being deleted: its scoped
// tokens end now, its controllers stop, and the replica holding its tunnel
// cleans up in it.
func (m *Manager) clusterTerminating(ctx context.Context, c *v1.Cluster) {
	if err := m.DeleteScopedTokens(ctx, c); err != nil && ctx.Err() == nil {
		m.log.Warn("failed to delete the tokens scoped to a deleted cluster", "cluster", c.Name, "err", err)
	}
	m.targets.Delete(sessionKey(c))
	m.syncRuntime(m.cfg.Context, c.Name)
}

// clusterGone runs when a cluster's object is gone: nothing of it stays.
func (m *Manager) clusterGone(ctx context.Context, c *v1.Cluster) {
	key := sessionKey(c)
	m.tunnel.Disconnect(key)
	m.targets.Delete(key)
	m.syncRuntime(m.cfg.Context, c.Name)
	if err := m.DeleteScopedTokens(ctx, c); err != nil && ctx.Err() == nil {
		m.log.Warn("failed to delete the tokens scoped to a deleted cluster", "cluster", c.Name, "err", err)
	}
	m.log.Info("cluster gone: its sessions, controllers and tokens ended", "cluster", c.Name, "uid", c.UID)
}

// deleteScopedTokens deletes the tokens scoped to c (to its UID, or to its
// name without a UID).
func (m *Manager) DeleteScopedTokens(ctx context.Context, c *v1.Cluster) error {
	var list v1.TokenList
	if err := m.cache.List(ctx, &list, client.MatchingFields{index.TokenCluster: c.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		tok := &list.Items[i]
		if tok.Spec.ClusterUID != "" && tok.Spec.ClusterUID != string(c.UID) {
			continue // of a newer cluster of that name
		}
		if err := m.client.Delete(ctx, tok); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// startCleanup removes, once per replica at a time, what Herd wrote into
// a cluster being deleted, then lets the Cluster go. It runs on the
// replica that holds the cluster's tunnel; without one it is retried when
// an agent connects (or the user deletes with force).
func (m *Manager) startCleanup(ctx context.Context, c *v1.Cluster) {
	key := sessionKey(c)
	if _, running := m.cleaning.LoadOrStore(key, true); running {
		return
	}
	go func() {
		defer m.cleaning.Delete(key)
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		d, err := m.newDownstream(cctx, c, false)
		if err == nil {
			err = cleanDownstream(cctx, d.accounts.Client, c.Name)
		}
		if err != nil {
			m.log.Warn("failed to clean up a deleted cluster; retrying", "cluster", c.Name, "err", err)
			return
		}
		if err := m.RemoveCleanupFinalizer(cctx, c); err != nil {
			m.log.Warn("failed to release a deleted cluster", "cluster", c.Name, "err", err)
			return
		}
		m.audit.Info("cluster cleaned up and deleted", "cluster", c.Name, "uid", c.UID)
	}()
}

// RemoveCleanupFinalizer lets a deleted Cluster go. The patch names the
// finalizers it read (with their resourceVersion), so it is tried again
// when another writer (a status update) came in between.
func (m *Manager) RemoveCleanupFinalizer(ctx context.Context, c *v1.Cluster) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur v1.Cluster
		if err := m.api.Get(ctx, client.ObjectKeyFromObject(c), &cur); err != nil || cur.UID != c.UID {
			return client.IgnoreNotFound(err)
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"finalizers":      slices.DeleteFunc(slices.Clone(cur.Finalizers), func(f string) bool { return f == CleanupFinalizer }),
			"resourceVersion": cur.ResourceVersion}})
		return client.IgnoreNotFound(m.client.Patch(ctx, &cur, client.RawPatch(types.MergePatchType, patch)))
	})
}

// cleanDownstream deletes from a cluster the token copies, impersonation
// accounts, roles and bindings Herd wrote into it. The agent's own objects
// (from the import manifest) stay: the cluster's owner removes herd-system.
func cleanDownstream(ctx context.Context, kube kubernetes.Interface, cluster string) error {
	copies := metav1.ListOptions{LabelSelector: tokencopy.Label + "=" + cluster}
	imp := metav1.ListOptions{LabelSelector: impersonation.Label}
	rbacObjs := metav1.ListOptions{LabelSelector: rbac.SourceLabel}
	all := metav1.DeleteOptions{}
	var errs []error
	errs = append(errs, ignoreMissing(kube.CoreV1().Secrets(wellknown.TokenCopiesNamespace).DeleteCollection(ctx, all, copies)))
	for _, sel := range []metav1.ListOptions{imp, rbacObjs} {
		errs = append(errs,
			ignoreMissing(kube.RbacV1().ClusterRoleBindings().DeleteCollection(ctx, all, sel)),
			ignoreMissing(kube.RbacV1().ClusterRoles().DeleteCollection(ctx, all, sel)),
			ignoreMissing(deleteRoleBindings(ctx, kube, sel)))
	}
	errs = append(errs, ignoreMissing(kube.CoreV1().ServiceAccounts(wellknown.Namespace).DeleteCollection(ctx, all, imp)))
	return errors.Join(errs...)
}

// deleteRoleBindings deletes the RoleBindings that sel selects, in every
// namespace.
func deleteRoleBindings(ctx context.Context, kube kubernetes.Interface, sel metav1.ListOptions) error {
	list, err := kube.RbacV1().RoleBindings("").List(ctx, sel)
	if err != nil {
		return err
	}
	var errs []error
	for _, rb := range list.Items {
		errs = append(errs, ignoreMissing(kube.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{})))
	}
	return errors.Join(errs...)
}

// ignoreMissing treats a resource or object that is not there as deleted.
func ignoreMissing(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func isConflictOrGone(err error) bool { return apierrors.IsConflict(err) || apierrors.IsNotFound(err) }

// Delete deletes a cluster: its scoped tokens end now; Herd cleans up in
// the cluster through its tunnel and then lets it go. With force, or when
// no agent ever registered, it lets it go at once. It reports whether the
// Cluster was gone within wait.
func (m *Manager) Delete(ctx context.Context, c *v1.Cluster, force bool, wait time.Duration) (bool, error) {
	uid := c.UID
	err := m.client.Delete(ctx, c, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if client.IgnoreNotFound(err) != nil {
		return false, err
	}
	if err := m.DeleteScopedTokens(ctx, c); err != nil {
		return false, err
	}
	if !force {
		// No agent registered: Herd wrote nothing into the cluster, and
		// no agent would come to clean up.
		registered, err := m.reg.registered(ctx, c)
		if err != nil {
			return false, err
		}
		force = !registered
	}
	if force {
		if err := m.RemoveCleanupFinalizer(ctx, c); err != nil {
			return false, err
		}
	}
	return m.awaitGone(ctx, c, wait), nil
}

// registered reports whether an agent of c ever registered: it has a
// credential of the cluster.
func (rs *Registrar) registered(ctx context.Context, c *v1.Cluster) (bool, error) {
	if c.Status.APIEndpoint != "" {
		return true, nil
	}
	var secret corev1.Secret
	err := rs.api.Get(ctx, client.ObjectKey{Namespace: wellknown.Namespace, Name: credentialSecretName(c.Name)}, &secret)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return string(secret.Data[credClusterUID]) == string(c.UID), nil // else of an earlier cluster of that name
}

// awaitGone waits until the cache no longer has c (of its UID), up to
// within.
func (m *Manager) awaitGone(ctx context.Context, c *v1.Cluster, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		var cur v1.Cluster
		if err := m.cache.Get(ctx, client.ObjectKeyFromObject(c), &cur); apierrors.IsNotFound(err) || (err == nil && cur.UID != c.UID) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
