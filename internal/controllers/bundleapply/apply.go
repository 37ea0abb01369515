package bundleapply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/bundles"
)

// apply puts the deployment's content into the cluster as its user:
// manifests with server-side apply (all of them tried with a dry run
// first, so that a refused one leaves nothing half applied), a chart with
// Helm. It returns the objects as applied and the Helm release revision.
func (c *Controller) apply(ctx context.Context, bd *v1.BundleDeployment) ([]*unstructured.Unstructured, int, error) {
	files, err := c.content.get(ctx, c.cfg.API, c.cfg.Namespace, bd.Spec.ContentSecret)
	if err != nil {
		return nil, 0, err
	}
	asUser, err := c.cfg.AsUser(ctx, bd.Spec.User)
	if err != nil {
		return nil, 0, errorf("the Bundle's creator cannot act in this cluster: %v", err)
	}
	if bd.Spec.Chart {
		return c.helmApply(ctx, asUser, bd, files)
	}
	objs, err := bundles.Manifests(files)
	if err != nil {
		return nil, 0, errorf("%v", err)
	}
	dyn, err := dynamic.NewForConfig(asUser)
	if err != nil {
		return nil, 0, err
	}
	kube, err := kubernetes.NewForConfig(asUser)
	if err != nil {
		return nil, 0, err
	}
	if err := c.prepare(objs, bd); err != nil {
		return nil, 0, err
	}
	if err := c.ensureNamespace(ctx, kube, bd.Spec.Namespace, objs); err != nil {
		return nil, 0, err
	}
	created := createdNamespaces(objs)
	for _, o := range objs { // every object, dry run: refusals before any change
		if definedIn(objs, o.GroupVersionKind().GroupKind()) {
			continue // its CRD is not there before the real run
		}
		if err := c.applyOne(ctx, dyn, o, true); err != nil && !(apierrors.IsNotFound(err) && created[o.GetNamespace()]) {
			return nil, 0, refusal(o, err)
		}
	}
	for i, o := range objs {
		if err := c.applyOne(ctx, dyn, o, false); err != nil {
			if i > 0 {
				return nil, 0, errorf("%v (%d of %d objects were applied before it)", refusal(o, err), i, len(objs))
			}
			return nil, 0, refusal(o, err)
		}
	}
	return objs, 0, nil
}

// render is what apply would send, without sending it (after a restart).
func (c *Controller) render(ctx context.Context, bd *v1.BundleDeployment) ([]*unstructured.Unstructured, error) {
	if bd.Spec.Chart {
		return c.helmManifest(ctx, bd)
	}
	files, err := c.content.get(ctx, c.cfg.API, c.cfg.Namespace, bd.Spec.ContentSecret)
	if err != nil {
		return nil, err
	}
	objs, err := bundles.Manifests(files)
	if err != nil {
		return nil, err
	}
	return objs, c.prepare(objs, bd)
}

// prepare labels the objects, gives namespaced ones without a namespace
// the deployment's, and puts namespaces and CRDs first.
func (c *Controller) prepare(objs []*unstructured.Unstructured, bd *v1.BundleDeployment) error {
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[v1.BundleLabel], labels[v1.BundleDeploymentLabel], labels[v1.BundleClusterLabel] = bd.Spec.BundleName, bd.Name, c.cfg.Cluster
		o.SetLabels(labels)
		mapping, err := c.mapping(o)
		if err != nil {
			if meta.IsNoMatchError(err) && definedIn(objs, o.GroupVersionKind().GroupKind()) {
				if o.GetNamespace() == "" {
					o.SetNamespace(bd.Spec.Namespace) // custom resources of a CRD in the bundle: namespaced, most likely
				}
				continue
			}
			return err
		}
		switch {
		case mapping.Scope.Name() == meta.RESTScopeNameNamespace && o.GetNamespace() == "":
			o.SetNamespace(bd.Spec.Namespace)
		case mapping.Scope.Name() == meta.RESTScopeNameRoot && o.GetNamespace() != "":
			return errorf("%s: a %s has no namespace; remove metadata.namespace", bundles.Describe(o), o.GetKind())
		}
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	return nil
}

func rank(o *unstructured.Unstructured) int {
	switch o.GetKind() {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	}
	return 2
}

func definedIn(objs []*unstructured.Unstructured, gk schema.GroupKind) bool {
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			if group == gk.Group && kind == gk.Kind {
				return true
			}
		}
	}
	return false
}

func createdNamespaces(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			out[o.GetName()] = true
		}
	}
	return out
}

// mapping finds an object's resource, reading discovery again once when
// the kind is unknown (a CRD applied a moment ago).
func (c *Controller) mapping(o *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := o.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, errorf("%s: the cluster has no kind %s in %s", bundles.Describe(o), gvk.Kind, gvk.GroupVersion())
	}
	return m, err
}

// applyOne server-side applies o, taking over fields others changed.
func (c *Controller) applyOne(ctx context.Context, dyn dynamic.Interface, o *unstructured.Unstructured, dryRun bool) error {
	m, err := c.mapping(o)
	if err != nil {
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = dyn.Resource(m.Resource).Namespace(o.GetNamespace()).Apply(ctx, o.GetName(), o, opts)
	return err
}

// refusal says why the cluster refused o; the apiserver's own words for
// what a user can fix (rights, invalid fields), otherwise an error to
// retry.
func refusal(o *unstructured.Unstructured, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return err
	}
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsNotFound(err) ||
		apierrors.IsConflict(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsUnauthorized(err) {
		return errorf("%s: %v", bundles.Describe(o), err)
	}
	return fmt.Errorf("%s: %w", bundles.Describe(o), err)
}

// ensureNamespace creates the deployment's namespace, as the user, when
// objects go there, it does not exist, and the bundle does not make it.
func (c *Controller) ensureNamespace(ctx context.Context, kube kubernetes.Interface, ns string, objs []*unstructured.Unstructured) error {
	used := false
	for _, o := range objs {
		used = used || o.GetNamespace() == ns
	}
	if !used || createdNamespaces(objs)[ns] {
		return nil
	}
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	switch {
	case err == nil || apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsForbidden(err):
		// Project members may not create namespaces: one that exists
		// is fine, the dry run says whether they may use it.
		return nil
	}
	return fmt.Errorf("namespace %s: %w", ns, err)
}

// prune deletes what the deployment applied before and no longer holds.
func (c *Controller) prune(ctx context.Context, bd *v1.BundleDeployment, now []*unstructured.Unstructured) {
	keep := map[v1.BundleObject]bool{}
	for _, r := range refs(now) {
		keep[r] = true
	}
	for _, r := range bd.Status.Objects {
		if !keep[r] && !bd.Spec.Chart { // Helm prunes its own release
			c.deleteOwned(ctx, bd, r)
		}
	}
}

// deleteOwned deletes one object the deployment applied, if it still
// carries the deployment's label (nothing else is ever deleted).
func (c *Controller) deleteOwned(ctx context.Context, bd *v1.BundleDeployment, r v1.BundleObject) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return
	}
	m, err := c.mapper.RESTMapping(gv.WithKind(r.Kind).GroupKind(), gv.Version)
	if err != nil {
		return
	}
	res := c.dyn.Resource(m.Resource).Namespace(r.Namespace)
	live, err := res.Get(ctx, r.Name, metav1.GetOptions{})
	if err != nil || live.GetLabels()[v1.BundleDeploymentLabel] != bd.Name {
		return
	}
	if err := res.Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		c.log.Warn("failed to delete a bundle object", "deployment", bd.Name, "object", r.Kind+" "+r.Namespace+"/"+r.Name, "err", err)
	}
}

// uninstall removes everything the deployment applied.
func (c *Controller) uninstall(ctx context.Context, bd *v1.BundleDeployment) error {
	if bd.Spec.Chart && bd.Status.AppliedHash != "" {
		return c.helmUninstall(ctx, bd)
	}
	for _, r := range slices.Backward(bd.Status.Objects) {
		if r.Kind == "Namespace" && strings.HasPrefix(r.Name, "kube-") {
			continue
		}
		c.deleteOwned(ctx, bd, r)
	}
	return nil
}
