package auditlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func body(s string) *Body {
	b := &Body{}
	_, _ = b.Write([]byte(s))
	return b
}

func logged(t *testing.T, v any) string {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestBodyValue: JSON bodies are logged with every secret redacted; other
// bodies only by size.
func TestBodyValue(t *testing.T) {
	for _, c := range []struct {
		name, body, contentType, encoding string
		secrets                           bool
		want                              string // what the logged value holds
		never                             []string
	}{
		{name: "a Secret by kind", body: `{"kind":"Secret","metadata":{"name":"db"},"data":{"pw":"c2VjcmV0"},"stringData":{"k":"v1"}}`,
			contentType: "application/json", want: `"data":{"pw":"[redacted]"}`, never: []string{"c2VjcmV0", "v1"}},
		{name: "a SecretList", body: `{"kind":"SecretList","items":[{"metadata":{"name":"a"},"data":{"x":"aGlkZGVu"}}]}`,
			contentType: "application/json", want: `"name":"a"`, never: []string{"aGlkZGVu"}},
		{name: "a patch of the secrets resource", body: `{"data":{"x":"bmV3"}}`, contentType: "application/merge-patch+json",
			secrets: true, want: `"x":"[redacted]"`, never: []string{"bmV3"}},
		{name: "passwords and tokens anywhere", body: `{"spec":{"bindPassword":"p1","nested":[{"client-key-data":"k1","Token":"t1"}]},"user":"alice"}`,
			contentType: "application/json; charset=utf-8", want: `"user":"alice"`, never: []string{"p1", "k1", "t1"}},
		{name: "a ConfigMap is kept", body: `{"kind":"ConfigMap","data":{"color":"blue"}}`, contentType: "application/json", want: `"color":"blue"`},
		{name: "protobuf", body: "k8s\x00\x01", contentType: "application/vnd.kubernetes.protobuf", want: "[5 bytes of application/vnd.kubernetes.protobuf: not logged]"},
		{name: "gzip", body: "\x1f\x8b", contentType: "application/json", encoding: "gzip", want: "gzip-encoded: not logged"},
		{name: "broken JSON", body: `{"password":"p2"`, contentType: "application/json", want: "not valid JSON", never: []string{"p2"}},
		{name: "two documents", body: `{} {"password":"p3"}`, contentType: "application/json", want: "not valid JSON", never: []string{"p3"}},
		{name: "too large", body: `{"a":"` + strings.Repeat("x", MaxBody) + `"}`, contentType: "application/json", want: "truncated: not logged"},
		{name: "too deep", body: strings.Repeat("[", 100) + strings.Repeat("]", 100), contentType: "application/json", want: "nested too deeply"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := logged(t, body(c.body).Value(c.contentType, c.encoding, c.secrets))
			if !strings.Contains(got, c.want) {
				t.Errorf("logged %s, want it to hold %s", got, c.want)
			}
			for _, s := range c.never {
				if strings.Contains(got, s) {
					t.Errorf("logged %s, which holds the secret %q", got, s)
				}
			}
		})
	}
	if v := (&Body{}).Value("application/json", "", false); v != nil {
		t.Errorf("an empty body logs %v, want nothing", v)
	}
	var none *Body
	if v := none.Value("application/json", "", false); v != nil {
		t.Errorf("a body not captured logs %v, want nothing", v)
	}
}

// TestFileRotation: the file rotates before a write would take it past
// its size, keeps the given number of older files, and is readable by
// its owner only.
func TestFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := OpenFile(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) []byte {
		return []byte(fmt.Sprintf("{\"line\":%03d,\"pad\":\"%s\"}\n", i, strings.Repeat("p", 20)))
	} // 40 bytes
	for i := range 10 {
		if _, err := f.Write(line(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"": "008 009", ".1": "006 007", ".2": "004 005"}
	for suffix, lines := range want {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range strings.Fields(lines) {
			if !strings.Contains(string(data), `"line":`+n) {
				t.Errorf("%s holds %q, want line %s", filepath.Base(path+suffix), data, n)
			}
		}
		if len(data) > 100 {
			t.Errorf("%s has %d bytes, past the 100 allowed", filepath.Base(path+suffix), len(data))
		}
		if st, _ := os.Stat(path + suffix); st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(path+suffix), st.Mode().Perm())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third older file was kept: %v", err)
	}
	if _, err := f.Write(line(11)); err == nil {
		t.Error("a write after Close succeeded")
	}
	// Reopened, it appends.
	f, err = OpenFile(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), `"line":009`) || !strings.HasSuffix(string(data), "{}\n") {
		t.Errorf("reopened file: %q", data)
	}
	if _, err := OpenFile(path, 0, 1); err == nil {
		t.Error("a zero size was accepted")
	}
	if _, err := ParseLevel(4); err == nil || !strings.Contains(err.Error(), "use 0 (off)") {
		t.Errorf("level 4: %v", err)
	}
}
