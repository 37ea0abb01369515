package importmanifest_test

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"herd.dev/herd/internal/importmanifest"
)

const testToken = "c-abc12:s3cr3t-do-not-leak-0123456789"

func validParams() importmanifest.Params {
	return importmanifest.Params{
		ServerURL:   "https://10.0.0.1:8443",
		Token:       testToken,
		CAChecksum:  strings.Repeat("0123456789abcdef", 4),
		ClusterName: "prod-1",
		ClusterUID:  "3f1c2b9e-6d5a-4c1e-9b0a-1e2f3a4b5c6d",
	}
}

// render renders p and decodes every document.
func render(t *testing.T, p importmanifest.Params) (docs []string, objs []*unstructured.Unstructured) {
	t.Helper()
	out, err := importmanifest.Render(p)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for doc := range strings.SplitSeq(string(out), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		docs, objs = append(docs, doc), append(objs, &unstructured.Unstructured{Object: m})
	}
	return docs, objs
}

// find returns the first object of kind, or of kind and name if a name is
// given.
func find(t *testing.T, objs []*unstructured.Unstructured, kind string, name ...string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && (len(name) == 0 || o.GetName() == name[0]) {
			return o
		}
	}
	t.Fatalf("no %s %v in the manifest", kind, name)
	return nil
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*importmanifest.Params)
		field string // "" means valid
	}{
		{"valid", func(*importmanifest.Params) {}, ""},
		{"token of 512 bytes", func(p *importmanifest.Params) { p.Token = "n:" + strings.Repeat("s", 510) }, ""},
		{"server missing", func(p *importmanifest.Params) { p.ServerURL = "" }, "ServerURL"},
		{"server http", func(p *importmanifest.Params) { p.ServerURL = "http://10.0.0.1:8443" }, "ServerURL"},
		{"server no host", func(p *importmanifest.Params) { p.ServerURL = "https:///v1" }, "ServerURL"},
		{"server user info", func(p *importmanifest.Params) { p.ServerURL = "https://u:p@herd.example" }, "ServerURL"},
		{"token missing", func(p *importmanifest.Params) { p.Token = "" }, "Token"},
		{"token oversized", func(p *importmanifest.Params) { p.Token = "n:" + strings.Repeat("s", 511) }, "Token"},
		{"token without secret", func(p *importmanifest.Params) { p.Token = "name:" }, "Token"},
		{"token with newline", func(p *importmanifest.Params) { p.Token = "name:a\nb" }, "Token"},
		{"checksum missing", func(p *importmanifest.Params) { p.CAChecksum = "" }, "CAChecksum"},
		{"checksum short", func(p *importmanifest.Params) { p.CAChecksum = "abcdef" }, "CAChecksum"},
		{"checksum uppercase", func(p *importmanifest.Params) { p.CAChecksum = strings.Repeat("ABCDEF0123456789", 4) }, "CAChecksum"},
		{"checksum not hex", func(p *importmanifest.Params) { p.CAChecksum = strings.Repeat("g", 64) }, "CAChecksum"},
		{"cluster missing", func(p *importmanifest.Params) { p.ClusterName = "" }, "ClusterName"},
		{"cluster not DNS", func(p *importmanifest.Params) { p.ClusterName = "Prod_1" }, "ClusterName"},
		{"cluster dotted", func(p *importmanifest.Params) { p.ClusterName = "prod.1" }, "ClusterName"},
		{"image with space", func(p *importmanifest.Params) { p.Image = "herd/herd dev" }, "Image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validParams()
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, importmanifest.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate: got %v, want ErrInvalid naming %s", err, tt.field)
			}
			if _, rerr := importmanifest.Render(p); !errors.Is(rerr, importmanifest.ErrInvalid) {
				t.Errorf("Render: got %v, want ErrInvalid", rerr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestRenderObjects(t *testing.T) {
	_, objs := render(t, validParams())
	want := []string{
		"Namespace//herd-system",
		"Namespace//herd-tokens",
		"ServiceAccount/herd-system/herd-agent",
		"ServiceAccount/herd-system/herd-node-agent",
		"ServiceAccount/herd-system/herd-kube-api-auth",
		"ClusterRole//herd-agent",
		"ClusterRoleBinding//herd-agent",
		"ClusterRoleBinding//herd-global-admins",
		"Role/herd-tokens/herd-kube-api-auth",
		"RoleBinding/herd-tokens/herd-kube-api-auth",
		"ValidatingAdmissionPolicy//herd-project-labels",
		"ValidatingAdmissionPolicyBinding//herd-project-labels",
		"Secret/herd-system/herd-credentials",
		"Deployment/herd-system/herd-agent",
		"DaemonSet/herd-system/herd-node-agent",
		"DaemonSet/herd-system/herd-kube-api-auth",
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
		if o.GetAPIVersion() == "" {
			t.Errorf("%s %s has no apiVersion", o.GetKind(), o.GetName())
		}
		if l := o.GetLabels()["app.kubernetes.io/managed-by"]; l != "herd" {
			t.Errorf("%s %s: managed-by label %q, want herd", o.GetKind(), o.GetName(), l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\ngot  %v\nwant %v", got, want)
	}
}
