package importmanifest_test

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"herd.dev/herd/internal/importmanifest"
)

// FuzzRender: whatever the parameters, Render never panics; it renders
// only valid parameters, into YAML documents, and its errors never carry
// the token.
func FuzzRender(f *testing.F) {
	p := validParams()
	f.Add(p.ServerURL, p.Token, p.CAChecksum, p.ClusterName, p.ClusterUID, "")
	f.Add("https://h:1", "a:b", strings.Repeat("0", 64), "c", "u", "img:tag")
	f.Add("http://h", "a:b", "x", "C", "", "bad image")
	f.Add("https://user:pw@h", "no-colon", strings.Repeat("f", 64), "c", "u", "")
	f.Add("https://h\n  evil: true", "a:b\n---\nkind: Secret", strings.Repeat("0", 64), "c", "u", "i\nj")
	f.Fuzz(func(t *testing.T, serverURL, token, checksum, cluster, uid, image string) {
		params := importmanifest.Params{ServerURL: serverURL, Token: token, CAChecksum: checksum, ClusterName: cluster, ClusterUID: uid, Image: image}
		out, err := importmanifest.Render(params)
		if err != nil {
			if !errors.Is(err, importmanifest.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if len(token) > 3 && strings.Contains(err.Error(), token) {
				t.Errorf("the error carries the token: %v", err)
			}
			return
		}
		if params.Validate() != nil {
			t.Error("rendered parameters that Validate refuses")
		}
		secrets := 0
		for i, doc := range strings.Split(string(out), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj["kind"] == nil {
				t.Fatalf("document %d is not an object: %v\n%s", i, err, doc)
			}
			if obj["kind"] == "Secret" {
				secrets++
			}
		}
		if secrets != 1 {
			t.Errorf("the manifest has %d Secrets, want the credentials one only", secrets)
		}
	})
}
