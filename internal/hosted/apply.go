package hosted

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// fieldManager applies the import manifest to hosted clusters.
const fieldManager = "herd-hosted"

// apply applies a multi-document YAML manifest, in its order, to the
// cluster of kubeconfig with server-side apply.
func apply(ctx context.Context, kubeconfig, manifest []byte) error {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return fmt.Errorf("the hosted cluster's kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("a client of the hosted cluster: %w", err)
	}
	for i, doc := range bytes.Split(manifest, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return fmt.Errorf("object %d of the import manifest: %w", i, err)
		}
		//nolint:staticcheck // server-side apply of an unstructured object
		if err := c.Patch(ctx, &u, client.Apply, client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}
