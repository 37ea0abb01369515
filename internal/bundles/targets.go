package bundles

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1 "herd.dev/herd/api/v1"
)

// Selects reports whether a cluster with name and labels is one of the
// named or selected ones. Neither names nor a selector: no.
func Selects(names []string, selector *metav1.LabelSelector, name string, lbls map[string]string) (bool, error) {
	if slices.Contains(names, name) {
		return true, nil
	}
	if selector == nil {
		return false, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return false, fmt.Errorf("clusterSelector: %w", err)
	}
	return sel.Matches(labels.Set(lbls)), nil
}

// Placement is what one cluster gets of a bundle.
type Placement struct {
	Namespace string
	Values    map[string]any
}

// PlacementFor applies spec's overrides for one cluster.
func PlacementFor(spec *v1.BundleSpec, name string, lbls map[string]string) (Placement, error) {
	p := Placement{Namespace: spec.Namespace}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	var err error
	if spec.Helm != nil {
		if p.Values, err = decodeValues(spec.Helm.Values); err != nil {
			return p, fmt.Errorf("helm.values: %w", err)
		}
	}
	for i, o := range spec.Targets.Overrides {
		ok, err := Selects(o.ClusterNames, o.ClusterSelector, name, lbls)
		if err != nil {
			return p, fmt.Errorf("overrides[%d]: %w", i, err)
		}
		if !ok {
			continue
		}
		if o.Namespace != "" {
			p.Namespace = o.Namespace
		}
		vals, err := decodeValues(o.Values)
		if err != nil {
			return p, fmt.Errorf("overrides[%d].values: %w", i, err)
		}
		p.Values = MergeValues(p.Values, vals)
	}
	return p, nil
}

func decodeValues(j *apiextensionsv1.JSON) (map[string]any, error) {
	if j == nil || len(j.Raw) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(j.Raw, &m); err != nil {
		return nil, fmt.Errorf("must be an object: %w", err)
	}
	return m, nil
}

// MergeValues merges over into base as Helm merges values files: maps
// merge key by key, anything else is replaced. Neither is changed.
func MergeValues(base, over map[string]any) map[string]any {
	if base == nil && over == nil {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = MergeValues(bm, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// EncodeValues is values as a BundleDeployment holds them.
func EncodeValues(values map[string]any) (*apiextensionsv1.JSON, error) {
	if values == nil {
		return nil, nil
	}
	b, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	return &apiextensionsv1.JSON{Raw: b}, nil
}

// DecodeValues is the inverse of EncodeValues.
func DecodeValues(j *apiextensionsv1.JSON) (map[string]any, error) { return decodeValues(j) }

// SpecHash is the digest of what a BundleDeployment spec makes a cluster
// hold (Hash itself excluded).
func SpecHash(s v1.BundleDeploymentSpec) string {
	s.Hash = ""
	b, _ := json.Marshal(s) // encoding/json sorts map keys: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}
