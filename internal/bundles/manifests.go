package bundles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// MaxObjects is the most objects one bundle may hold.
const MaxObjects = 500

// Manifests reads every .yaml, .yml and .json file of files (in name
// order) as Kubernetes objects. Errors name the file and document.
func Manifests(files map[string][]byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, name := range sortedNames(files) {
		switch path.Ext(name) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		objs, err := Parse(files[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, objs...)
		if len(out) > MaxObjects {
			return nil, fmt.Errorf("more than %d objects", MaxObjects)
		}
	}
	return out, nil
}

// Parse reads YAML or JSON documents as objects; empty documents are
// skipped, and a List's items are taken one by one.
func Parse(doc []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		err := r.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, err)
			}
			for j := range list.Items {
				if err := check(&list.Items[j]); err != nil {
					return nil, fmt.Errorf("document %d item %d: %w", i, j+1, err)
				}
				out = append(out, &list.Items[j])
			}
			continue
		}
		if err := check(u); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, u)
	}
}

// check refuses an object the apiserver could not be asked about.
func check(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "" || u.GetKind() == "":
		return errors.New("apiVersion and kind are required")
	case u.GetName() == "":
		return fmt.Errorf("%s: metadata.name is required (generateName is not supported: the bundle could not find the object again)", u.GetKind())
	case u.GetNamespace() != "" && len(validation.IsDNS1123Label(u.GetNamespace())) > 0:
		return fmt.Errorf("%s %s: namespace %q is not a valid name", u.GetKind(), u.GetName(), u.GetNamespace())
	}
	return nil
}

// Describe names an object in messages: Kind namespace/name.
func Describe(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// trimMessage keeps messages within what a status may hold.
func TrimMessage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1000 {
		return s[:1000] + "…"
	}
	return s
}
