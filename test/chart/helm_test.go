package chart

import (
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// chartDir is deploy/chart/herd of this module.
func chartDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "chart", "herd")
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	return c
}

// parseValues reads values as `helm --values` does.
func parseValues(t testing.TB, doc string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(doc), &vals); err != nil {
		t.Fatalf("values %q: %v", doc, err)
	}
	return vals
}

// render is `helm template herd deploy/chart/herd -n NAMESPACE --values
// VALUES`: the manifests, or the error Helm gives a user.
func render(t testing.TB, namespace, values string) (string, error) {
	t.Helper()
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName, install.Namespace = "herd", namespace
	rel, err := install.Run(loadChart(t), parseValues(t, values))
	if err != nil {
		return "", err
	}
	return rel.(*releasev1.Release).Manifest, nil
}

// helmConfig is Helm's action configuration for the cluster of kubeconfig.
func helmConfig(t testing.TB, kubeconfig, namespace string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &kubeconfig, &namespace
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// objects decodes a rendered manifest into typed objects by kind/name.
func objects(t testing.TB, manifest string) map[string]k8sruntime.Object {
	t.Helper()
	decode := serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()
	out := map[string]k8sruntime.Object{}
	for _, doc := range strings.Split(manifest, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		obj, gvk, err := decode.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		name := ""
		if m, ok := obj.(interface{ GetName() string }); ok {
			name = m.GetName()
		}
		out[gvk.Kind+"/"+name] = obj
	}
	return out
}

func deploymentOf(t testing.TB, objs map[string]k8sruntime.Object) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	d, ok := objs["Deployment/herd"].(*appsv1.Deployment)
	if !ok {
		t.Fatalf("no Deployment herd among %v", keys(objs))
	}
	return d, &d.Spec.Template.Spec.Containers[0]
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// installTimeout bounds an install's wait for the Deployment.
const installTimeout = 4 * time.Minute
