package bundleapply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/bundles"
)

// helmTimeout bounds one install, upgrade or uninstall.
const helmTimeout = 2 * time.Minute

// helmApply installs the chart as the deployment's release, or upgrades
// it: server-side apply, taking over fields others changed; a failed
// upgrade is rolled back and a failed install removed, so a failure
// leaves the previous state. It returns the release's objects.
func (c *Controller) helmApply(ctx context.Context, asUser *rest.Config, bd *v1.BundleDeployment, files map[string][]byte) ([]*unstructured.Unstructured, int, error) {
	ch, err := bundles.Chart(files)
	if err != nil {
		return nil, 0, errorf("%v", err)
	}
	values, err := bundles.DecodeValues(bd.Spec.Values)
	if err != nil {
		return nil, 0, errorf("values: %v", err)
	}
	cfg, err := c.helmConfig(asUser, bd.Spec.Namespace)
	if err != nil {
		return nil, 0, err
	}
	labeler := &labeler{labels: map[string]string{v1.BundleLabel: bd.Spec.BundleName, v1.BundleDeploymentLabel: bd.Name, v1.BundleClusterLabel: c.cfg.Cluster}}
	hist := action.NewHistory(cfg)
	hist.Max = 1
	_, err = hist.Run(bd.Spec.ReleaseName)
	var rel any
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.CreateNamespace = bd.Spec.ReleaseName, bd.Spec.Namespace, true
		in.ServerSideApply, in.ForceConflicts, in.RollbackOnFailure = true, true, true
		in.WaitStrategy, in.Timeout, in.PostRenderer = kube.HookOnlyStrategy, helmTimeout, labeler
		in.Description = "bundle " + bd.Spec.BundleName + " revision " + bd.Spec.Revision
		rel, err = in.RunWithContext(ctx, ch, values)
	case err != nil:
		return nil, 0, fmt.Errorf("helm history of %s: %w", bd.Spec.ReleaseName, err)
	default:
		up := action.NewUpgrade(cfg)
		up.Namespace, up.ServerSideApply, up.ForceConflicts, up.RollbackOnFailure = bd.Spec.Namespace, "true", true, true
		up.WaitStrategy, up.Timeout, up.PostRenderer, up.MaxHistory = kube.HookOnlyStrategy, helmTimeout, labeler, 10
		up.Description = "bundle " + bd.Spec.BundleName + " revision " + bd.Spec.Revision
		rel, err = up.RunWithContext(ctx, bd.Spec.ReleaseName, ch, values)
	}
	if err != nil {
		return nil, 0, errorf("helm: %v", err)
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, 0, fmt.Errorf("helm returned a release of type %T", rel)
	}
	objs, err := c.releaseObjects(r)
	return objs, r.Version, err
}

// helmManifest is the objects of the deployment's current release.
func (c *Controller) helmManifest(ctx context.Context, bd *v1.BundleDeployment) ([]*unstructured.Unstructured, error) {
	cfg, err := c.helmConfig(c.cfg.Agent, bd.Spec.Namespace)
	if err != nil {
		return nil, err
	}
	rel, err := action.NewGet(cfg).Run(bd.Spec.ReleaseName)
	if err != nil {
		return nil, fmt.Errorf("helm get %s: %w", bd.Spec.ReleaseName, err)
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("helm returned a release of type %T", rel)
	}
	return c.releaseObjects(r)
}

// releaseObjects parses a release's manifest, namespaced objects without
// a namespace in the release's.
func (c *Controller) releaseObjects(r *releasev1.Release) ([]*unstructured.Unstructured, error) {
	objs, err := bundles.Parse([]byte(r.Manifest))
	if err != nil {
		return nil, fmt.Errorf("the release's manifest: %w", err)
	}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			continue
		}
		if m, err := c.mapping(o); err == nil && m.Scope.Name() == meta.RESTScopeNameNamespace {
			o.SetNamespace(r.Namespace)
		}
	}
	return objs, nil
}

// helmUninstall removes the deployment's release.
func (c *Controller) helmUninstall(ctx context.Context, bd *v1.BundleDeployment) error {
	cfg, err := c.helmConfig(c.cfg.Agent, bd.Spec.Namespace)
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.IgnoreNotFound, un.WaitStrategy, un.Timeout = true, kube.HookOnlyStrategy, helmTimeout
	if _, err := un.Run(bd.Spec.ReleaseName); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("helm uninstall %s: %w", bd.Spec.ReleaseName, err)
	}
	return nil
}

// helmConfig is Helm's configuration for namespace, with releases kept as
// Secrets (Helm's default, so `helm list` finds them).
func (c *Controller) helmConfig(rc *rest.Config, namespace string) (*action.Configuration, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(c.log.With("helm", true).Handler()))
	if err := cfg.Init(&getter{cfg: rc, namespace: namespace, disc: c.disc, mapper: c.mapper}, namespace, "secret"); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

// getter is Helm's view of one cluster for one identity; discovery is
// the controller's, read once.
type getter struct {
	cfg       *rest.Config
	namespace string
	disc      discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
}

func (g *getter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) { return g.disc, nil }

func (g *getter) ToRESTMapper() (meta.RESTMapper, error) { return g.mapper, nil }

func (g *getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(clientcmdapi.Config{}, &clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: g.namespace}})
}

// labeler is a Helm post-renderer that labels every object, so that the
// cluster's bundle controller watches it.
type labeler struct {
	labels map[string]string
}

func (l *labeler) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	objs, err := bundles.Parse(rendered.Bytes())
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range l.labels {
			labels[k] = v
		}
		o.SetLabels(labels)
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return &out, nil
}
